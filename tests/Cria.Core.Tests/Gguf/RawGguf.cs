using System.Text;

namespace Cria.Core.Tests.Gguf;

/// <summary>
/// Writes GGUF bytes field by field with no validation, so tests can build exactly the malformed
/// file they mean (lengths near 2^64, bad types, overlapping tensors …).
/// </summary>
internal sealed class RawGguf
{
    private readonly MemoryStream _ms = new();
    private readonly BinaryWriter _w;

    public RawGguf()
    {
        _w = new BinaryWriter(_ms, Encoding.UTF8, leaveOpen: true);
    }

    public long Position => _ms.Position;

    public RawGguf Header(uint version = 3, ulong tensors = 0, ulong kvs = 0, uint magic = 0x46554747)
    {
        _w.Write(magic);
        _w.Write(version);
        _w.Write(tensors);
        _w.Write(kvs);
        return this;
    }

    public RawGguf U32(uint v)
    {
        _w.Write(v);
        return this;
    }

    public RawGguf U64(ulong v)
    {
        _w.Write(v);
        return this;
    }

    public RawGguf Bytes(byte[] b)
    {
        _w.Write(b);
        return this;
    }

    public RawGguf Str(string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        _w.Write((ulong)b.Length);
        _w.Write(b);
        return this;
    }

    /// <summary>A key with a uint32 value.</summary>
    public RawGguf KvU32(string key, uint value) => Str(key).U32(4).U32(value);

    public RawGguf KvStr(string key, string value) => Str(key).U32(8).Str(value);

    /// <summary>A tensor table entry.</summary>
    public RawGguf Tensor(string name, uint type, ulong offset, params ulong[] dims)
    {
        Str(name).U32((uint)dims.Length);
        foreach (ulong d in dims)
        {
            U64(d);
        }
        return U32(type).U64(offset);
    }

    /// <summary>Zero bytes up to the next multiple of <paramref name="alignment"/>.</summary>
    public RawGguf Align(int alignment = 32)
    {
        while (_ms.Position % alignment != 0)
        {
            _w.Write((byte)0);
        }
        return this;
    }

    public RawGguf Zeros(int n)
    {
        _w.Write(new byte[n]);
        return this;
    }

    public byte[] ToArray()
    {
        _w.Flush();
        return _ms.ToArray();
    }
}
