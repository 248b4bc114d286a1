using System.Buffers.Binary;
using System.IO.Compression;

namespace Cria.Soak;

/// <summary>
/// An RGB raster and the smallest PNG encoder that writes it (PNG spec, ISO/IEC 15948: signature, IHDR, one
/// IDAT of zlib-deflated rows each led by filter byte 0, IEND; CRC-32 over each chunk's type and data).
/// Drawing: filled rectangles, lines two pixels wide, dashed lines, and text in <see cref="Font"/>.
/// </summary>
internal sealed class Canvas
{
    private static readonly uint[] s_crcTable = CrcTable();
    private readonly byte[] _rgb; // [Height, Width, 3] row-major

    public Canvas(int width, int height, (byte R, byte G, byte B) background)
    {
        Width = width;
        Height = height;
        _rgb = new byte[width * height * 3];
        Fill(0, 0, width, height, background);
    }

    public int Width { get; }

    public int Height { get; }

    public void Set(int x, int y, (byte R, byte G, byte B) c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
        {
            return;
        }
        int i = ((y * Width) + x) * 3;
        _rgb[i] = c.R;
        _rgb[i + 1] = c.G;
        _rgb[i + 2] = c.B;
    }

    public void Fill(int x, int y, int w, int h, (byte R, byte G, byte B) c)
    {
        for (int yy = Math.Max(0, y); yy < Math.Min(Height, y + h); yy++)
        {
            for (int xx = Math.Max(0, x); xx < Math.Min(Width, x + w); xx++)
            {
                Set(xx, yy, c);
            }
        }
    }

    /// <summary>A line from (x0, y0) to (x1, y1), two pixels wide (Bresenham); with <paramref name="dash"/> &gt; 0, drawn dash on, dash off.</summary>
    public void Line(int x0, int y0, int x1, int y1, (byte R, byte G, byte B) c, int dash = 0)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        int err = dx + dy;
        for (int step = 0; ; step++)
        {
            if (dash == 0 || (step / dash) % 2 == 0)
            {
                Set(x0, y0, c);
                Set(x0 + 1, y0, c);
                Set(x0, y0 + 1, c);
            }
            if (x0 == x1 && y0 == y1)
            {
                return;
            }
            int e2 = 2 * err;
            if (e2 >= dy)
            {
                err += dy;
                x0 += sx;
            }
            if (e2 <= dx)
            {
                err += dx;
                y0 += sy;
            }
        }
    }

    /// <summary>Text with its top-left corner at (x, y), each font pixel drawn as <paramref name="scale"/>² pixels.</summary>
    public void Text(int x, int y, string text, (byte R, byte G, byte B) c, int scale = 2)
    {
        foreach (char ch in text)
        {
            ReadOnlySpan<byte> rows = Font.Glyph(ch);
            for (int r = 0; r < Font.Height; r++)
            {
                for (int col = 0; col < Font.Width; col++)
                {
                    if ((rows[r] & (1 << (Font.Width - 1 - col))) != 0)
                    {
                        Fill(x + (col * scale), y + (r * scale), scale, scale, c);
                    }
                }
            }
            x += (Font.Width + 1) * scale;
        }
    }

    public static int TextWidth(string text, int scale = 2) => text.Length * (Font.Width + 1) * scale;

    public void SavePng(string path)
    {
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        byte[] header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), Height);
        header[8] = 8; // bits per sample
        header[9] = 2; // colour type: RGB
        Chunk(file, "IHDR", header);
        using (var packed = new MemoryStream())
        {
            using (var z = new ZLibStream(packed, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (int y = 0; y < Height; y++)
                {
                    z.WriteByte(0); // filter: none
                    z.Write(_rgb, y * Width * 3, Width * 3);
                }
            }
            Chunk(file, "IDAT", packed.ToArray());
        }
        Chunk(file, "IEND", []);
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        byte[] typeBytes = [.. type.Select(ch => (byte)ch)];
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc(Crc(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        s.Write(word);
    }

    private static uint Crc(uint crc, byte[] bytes)
    {
        foreach (byte b in bytes)
        {
            crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    private static uint[] CrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }
}
