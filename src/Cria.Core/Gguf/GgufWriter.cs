using System.Text;

using Cria.Core.IO;
using Cria.Numerics;

namespace Cria.Core.Gguf;

/// <summary>
/// Builds a GGUF v3 file: metadata in insertion order, then the tensor table, then the aligned tensor
/// data. Tensor data is produced by a callback when the file is written, so a converter never holds
/// a whole model in memory. <see cref="Save"/> writes to a temporary file beside the target and
/// renames it only after everything was written, so a half-written file is never taken as complete.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<GgufMetadataEntry> _metadata = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public GgufWriter(uint version = 3)
    {
        if (version is not (2 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "GGUF versions 2 and 3 can be written");
        }
        Version = version;
    }

    public uint Version { get; }

    /// <summary>The alignment the data section will use: general.alignment if set, else 32.</summary>
    public int Alignment
    {
        get
        {
            GgufMetadataEntry? e = _metadata.Find(m => m.Key == "general.alignment");
            return e?.Value.AsInteger() is long a ? (int)a : GgufFile.DefaultAlignment;
        }
    }

    public IReadOnlyList<GgufMetadataEntry> Metadata => _metadata;

    public void Add(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (!_keys.Add(key))
        {
            throw new ArgumentException($"metadata key \"{key}\" was already added", nameof(key));
        }
        if (key == "general.alignment" && !(value.AsInteger() is long a && a > 0 && a <= 1 << 30 && (a & (a - 1)) == 0))
        {
            throw new ArgumentException("general.alignment must be a power of two", nameof(value));
        }
        _metadata.Add(new GgufMetadataEntry(key, value));
    }

    public void Add(string key, string value) => Add(key, GgufValue.From(value));
    public void Add(string key, uint value) => Add(key, GgufValue.From(value));
    public void Add(string key, int value) => Add(key, GgufValue.From(value));
    public void Add(string key, float value) => Add(key, GgufValue.From(value));
    public void Add(string key, bool value) => Add(key, GgufValue.From(value));

    /// <summary>Adds a tensor whose bytes are given now.</summary>
    public void AddTensor(string name, GgmlType type, long[] dimensions, ReadOnlyMemory<byte> data)
    {
        long size = CheckTensor(name, type, dimensions);
        if (data.Length != size)
        {
            throw new ArgumentException($"tensor \"{name}\" needs {size} bytes, got {data.Length}", nameof(data));
        }
        _tensors.Add(new PendingTensor(name, type, (long[])dimensions.Clone(), size, s => s.Write(data.Span)));
    }

    /// <summary>Adds a tensor whose bytes <paramref name="write"/> produces when the file is written.</summary>
    public void AddTensor(string name, GgmlType type, long[] dimensions, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        long size = CheckTensor(name, type, dimensions);
        _tensors.Add(new PendingTensor(name, type, (long[])dimensions.Clone(), size, write));
    }

    /// <summary>Writes the file to <paramref name="path"/> atomically (temp file, flush, rename).</summary>
    public void Save(string path) => AtomicFile.Write(path, WriteTo);

    /// <summary>Writes the whole file to a seekable or forward-only stream.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        int alignment = Alignment;
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFile.Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (GgufMetadataEntry e in _metadata)
        {
            WriteString(w, e.Key);
            w.Write((uint)e.Value.Type);
            WriteValue(w, e.Value.Value);
        }
        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            PendingTensor t = _tensors[i];
            offsets[i] = offset;
            WriteString(w, t.Name);
            w.Write((uint)t.Dimensions.Length);
            foreach (long d in t.Dimensions)
            {
                w.Write((ulong)d);
            }
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset = GgufFile.AlignUp(offset + t.Size, alignment);
        }
        w.Flush();
        long position = HeaderSize(alignment);
        long dataStart = GgufFile.AlignUp(position, alignment);
        WritePadding(stream, dataStart - position);
        long written = 0;
        for (int i = 0; i < _tensors.Count; i++)
        {
            PendingTensor t = _tensors[i];
            WritePadding(stream, offsets[i] - written);
            var counter = new CountingStream(stream);
            t.Write(counter);
            if (counter.Count != t.Size)
            {
                throw new InvalidOperationException($"tensor \"{t.Name}\" wrote {counter.Count} bytes; its shape needs {t.Size}");
            }
            written = offsets[i] + t.Size;
        }
        if (_tensors.Count > 0)
        {
            WritePadding(stream, GgufFile.AlignUp(written, alignment) - written);
        }
        stream.Flush();
    }

    private long HeaderSize(int alignment)
    {
        _ = alignment;
        long n = 4 + 4 + 8 + 8;
        foreach (GgufMetadataEntry e in _metadata)
        {
            n += 8 + Encoding.UTF8.GetByteCount(e.Key) + 4 + ValueSize(e.Value.Value);
        }
        foreach (PendingTensor t in _tensors)
        {
            n += 8 + Encoding.UTF8.GetByteCount(t.Name) + 4 + 8L * t.Dimensions.Length + 4 + 8;
        }
        return n;
    }

    private static long ValueSize(object value) => value switch
    {
        byte or sbyte or bool => 1,
        ushort or short => 2,
        uint or int or float => 4,
        ulong or long or double => 8,
        string s => 8 + Encoding.UTF8.GetByteCount(s),
        GgufArray a => 4 + 8 + ArraySize(a),
        _ => throw new InvalidOperationException($"cannot write a {value.GetType().Name}"),
    };

    private static long ArraySize(GgufArray a)
    {
        long n = 0;
        foreach (object? item in a.Items)
        {
            n += ValueSize(item!);
        }
        return n;
    }

    private static void WriteValue(BinaryWriter w, object value)
    {
        switch (value)
        {
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case short v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case int v: w.Write(v); break;
            case float v: w.Write(v); break;
            case bool v: w.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(w, v); break;
            case ulong v: w.Write(v); break;
            case long v: w.Write(v); break;
            case double v: w.Write(v); break;
            case GgufArray a:
                w.Write((uint)a.ElementType);
                w.Write((ulong)a.Count);
                foreach (object? item in a.Items)
                {
                    WriteValue(w, item!);
                }
                break;
            default:
                throw new InvalidOperationException($"cannot write a {value.GetType().Name}");
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WritePadding(Stream s, long count)
    {
        Span<byte> zeros = stackalloc byte[64];
        zeros.Clear();
        while (count > 0)
        {
            int n = (int)Math.Min(count, zeros.Length);
            s.Write(zeros[..n]);
            count -= n;
        }
    }

    private long CheckTensor(string name, GgmlType type, long[] dimensions)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dimensions);
        if (Encoding.UTF8.GetByteCount(name) > GgufFile.MaxTensorNameLength)
        {
            throw new ArgumentException($"tensor name \"{name}\" is longer than {GgufFile.MaxTensorNameLength} bytes", nameof(name));
        }
        if (!_names.Add(name))
        {
            throw new ArgumentException($"tensor \"{name}\" was already added", nameof(name));
        }
        if (dimensions.Length is 0 or > GgufFile.MaxDimensions)
        {
            throw new ArgumentException($"tensor \"{name}\" needs 1..{GgufFile.MaxDimensions} dimensions", nameof(dimensions));
        }
        long elements = 1;
        foreach (long d in dimensions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dimensions));
            elements = checked(elements * d);
        }
        long rowBytes = GgmlTypes.RowBytes(type, dimensions[0]);
        if (rowBytes < 0)
        {
            throw new ArgumentException($"tensor \"{name}\": row length {dimensions[0]} is not a whole number of {GgmlTypes.Name(type)} blocks", nameof(dimensions));
        }
        return dimensions[0] == 0 ? 0 : checked(rowBytes * (elements / dimensions[0]));
    }

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Dimensions, long Size, Action<Stream> Write);

    /// <summary>Forwards writes and counts bytes, so a tensor callback that writes the wrong amount is caught.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Count += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Count += buffer.Length;
        }
    }
}
