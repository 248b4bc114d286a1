using System.Buffers.Binary;
using System.Text;

using Cria.Numerics;
using Cria.Numerics.Memory;

namespace Cria.Core.Gguf;

/// <summary>
/// A GGUF file (versions 2 and 3), memory-mapped. Metadata and the tensor table are parsed and
/// validated when the file is opened; tensor data stays in the mapping and is handed out as
/// zero-copy views. Invariant after <see cref="Open"/>: every tensor's type is known, its shape
/// is a whole number of blocks per row, its byte range lies inside the file, is aligned, and
/// overlaps no other tensor; keys and tensor names are unique.
/// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
/// </summary>
public sealed class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747; // "GGUF" read as little-endian uint32
    public const int DefaultAlignment = 32;
    public const int MaxDimensions = 4;
    public const int MaxTensorNameLength = 63; // ggml's GGML_MAX_NAME (64) including the terminator
    internal const int MaxArrayNesting = 8;

    private readonly MappedFile _file;
    private readonly Dictionary<string, GgufValue> _byKey;
    private readonly Dictionary<string, GgufTensorInfo> _byName;

    private GgufFile(MappedFile file, uint version, List<GgufMetadataEntry> metadata, List<GgufTensorInfo> tensors, int alignment, long dataOffset)
    {
        _file = file;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        _byKey = new Dictionary<string, GgufValue>(metadata.Count, StringComparer.Ordinal);
        foreach (GgufMetadataEntry e in metadata)
        {
            _byKey[e.Key] = e.Value;
        }
        _byName = new Dictionary<string, GgufTensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (GgufTensorInfo t in tensors)
        {
            _byName[t.Name] = t;
        }
    }

    public string FilePath => _file.FilePath;

    public long FileSize => _file.Length;

    public uint Version { get; }

    public int Alignment { get; }

    /// <summary>Absolute offset where the tensor data section starts.</summary>
    public long DataOffset { get; }

    /// <summary>Metadata in file order.</summary>
    public IReadOnlyList<GgufMetadataEntry> Metadata { get; }

    /// <summary>The tensor table in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Opens, maps and validates <paramref name="path"/>.</summary>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }
        MappedFile file = MappedFile.Open(path);
        try
        {
            return Parse(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public bool TryGetValue(string key, out GgufValue value) => _byKey.TryGetValue(key, out value!);

    public bool ContainsKey(string key) => _byKey.ContainsKey(key);

    public string? GetString(string key) => _byKey.TryGetValue(key, out GgufValue? v) ? v.AsString() : null;

    public long? GetInteger(string key) => _byKey.TryGetValue(key, out GgufValue? v) ? v.AsInteger() : null;

    public double? GetFloat(string key) => _byKey.TryGetValue(key, out GgufValue? v) ? v.AsFloat() : null;

    public bool? GetBool(string key) => _byKey.TryGetValue(key, out GgufValue? v) && v.Value is bool b ? b : null;

    public string[]? GetStringArray(string key) => GetArray<string>(key);

    public float[]? GetFloat32Array(string key) => GetArray<float>(key);

    public int[]? GetInt32Array(string key)
    {
        GgufArray? a = _byKey.TryGetValue(key, out GgufValue? v) ? v.AsArray() : null;
        return a?.Items switch
        {
            int[] ints => ints,
            uint[] uints => Array.ConvertAll(uints, u => unchecked((int)u)),
            _ => null,
        };
    }

    public T[]? GetArray<T>(string key) =>
        _byKey.TryGetValue(key, out GgufValue? v) && v.AsArray()?.Items is T[] items ? items : null;

    public bool TryGetTensor(string name, out GgufTensorInfo tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>The raw bytes of a tensor (zero-copy). Tensors over 2 GiB must be read as matrices.</summary>
    public ReadOnlySpan<byte> TensorBytes(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue)
        {
            throw new NotSupportedException($"{FilePath}: tensor {tensor.Name} is {tensor.ByteSize} bytes; read it row by row");
        }
        return _file.Span(tensor.FileOffset, (int)tensor.ByteSize);
    }

    /// <summary>A zero-copy matrix view: rows = product of ne[1..], columns = ne[0].</summary>
    public WeightMatrix Matrix(GgufTensorInfo tensor)
    {
        if (tensor.Rows > int.MaxValue || tensor.Dimensions[0] > int.MaxValue)
        {
            throw new NotSupportedException($"{FilePath}: tensor {tensor.Name} {tensor.ShapeText} is too large for a matrix view");
        }
        return _file.Matrix(tensor.Type, tensor.FileOffset, (int)tensor.Rows, (int)tensor.Dimensions[0]);
    }

    /// <summary>
    /// Copies bytes [<paramref name="offset"/>, offset+destination.Length) of a tensor's data with a
    /// positioned read (see <see cref="MappedFile.ReadAt"/>): for scattered small reads that should
    /// not make the mapping resident.
    /// </summary>
    public void ReadTensor(GgufTensorInfo tensor, long offset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (offset < 0 || offset > tensor.ByteSize || destination.Length > tensor.ByteSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{FilePath}: bytes [{offset}, {offset}+{destination.Length}) are outside tensor {tensor.Name} ({tensor.ByteSize} bytes)");
        }
        _file.ReadAt(tensor.FileOffset + offset, destination);
    }

    /// <summary>Drops a tensor's pages from this process's resident set (after its data was copied elsewhere).</summary>
    public void ReleasePages(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        _file.ReleasePages(tensor.FileOffset, tensor.ByteSize);
    }

    public void Dispose() => _file.Dispose();

    private static GgufFile Parse(MappedFile file)
    {
        var r = new GgufCursor(file);
        uint magic = r.ReadUInt32("magic");
        if (magic != Magic)
        {
            throw r.Error("magic", 0, file.Length < 4 ? "file is shorter than the 4-byte magic" : "not a GGUF file (magic is not \"GGUF\")");
        }
        uint version = r.ReadUInt32("version");
        if (version is not (2 or 3))
        {
            string why = BinaryPrimitives.ReverseEndianness(version) is 2 or 3
                ? "big-endian GGUF files are not supported"
                : version == 1 ? "GGUF version 1 is not supported (versions 2 and 3 are)" : $"unknown GGUF version {version}";
            throw r.Error("version", 4, why);
        }
        long tensorCount = r.ReadCount("tensor_count", 32);
        long kvCount = r.ReadCount("metadata_kv_count", 13);

        var metadata = new List<GgufMetadataEntry>((int)Math.Min(kvCount, 4096));
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            long at = r.Position;
            string key = r.ReadString($"metadata[{i}].key");
            if (!keys.Add(key))
            {
                throw r.Error($"metadata key \"{key}\"", at, "duplicate key");
            }
            long typeAt = r.Position;
            var type = (GgufValueType)r.ReadUInt32($"metadata \"{key}\" type");
            GgufValue value = r.ReadValue(type, $"metadata \"{key}\"", typeAt, 0);
            metadata.Add(new GgufMetadataEntry(key, value));
        }

        int alignment = DefaultAlignment;
        GgufMetadataEntry? alignEntry = metadata.Find(e => e.Key == "general.alignment");
        if (alignEntry is not null)
        {
            long? a = alignEntry.Value.AsInteger();
            if (a is null or <= 0 or > 1 << 30 || (a & (a - 1)) != 0)
            {
                throw r.Error("general.alignment", 24, $"alignment must be a power of two, got {alignEntry.Value}");
            }
            alignment = (int)a.Value;
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 65536));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++)
        {
            tensors.Add(r.ReadTensorInfo(i, alignment, names));
        }

        long dataOffset = AlignUp(r.Position, alignment);
        if (tensorCount > 0 && dataOffset > file.Length)
        {
            throw r.Error("tensor data", r.Position, $"data section would start at byte {dataOffset}, past the end of the file ({file.Length} bytes)");
        }

        for (int i = 0; i < tensors.Count; i++)
        {
            GgufTensorInfo t = tensors[i];
            long size = t.ByteSize;
            if (t.Offset > file.Length - dataOffset || size > file.Length - dataOffset - t.Offset)
            {
                throw new GgufFormatException(file.FilePath, $"tensor \"{t.Name}\" data", dataOffset + Math.Min(t.Offset, file.Length),
                    $"{size} bytes at data offset {t.Offset} run past the end of the file ({file.Length} bytes; data section starts at {dataOffset})");
            }
            tensors[i] = t with { FileOffset = dataOffset + t.Offset };
        }
        CheckOverlaps(file.FilePath, tensors);
        return new GgufFile(file, version, metadata, tensors, alignment, dataOffset);
    }

    private static void CheckOverlaps(string path, List<GgufTensorInfo> tensors)
    {
        var sorted = tensors.ToArray();
        Array.Sort(sorted, (a, b) => a.Offset.CompareTo(b.Offset));
        for (int i = 1; i < sorted.Length; i++)
        {
            GgufTensorInfo prev = sorted[i - 1];
            if (prev.ByteSize > 0 && sorted[i].Offset < prev.Offset + prev.ByteSize)
            {
                throw new GgufFormatException(path, $"tensor \"{sorted[i].Name}\" data", sorted[i].FileOffset,
                    $"overlaps tensor \"{prev.Name}\" (data offsets {prev.Offset}..{prev.Offset + prev.ByteSize})");
            }
        }
    }

    internal static long AlignUp(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;

    /// <summary>A bounds-checked little-endian reader over the mapped file.</summary>
    private sealed class GgufCursor(MappedFile file)
    {
        public long Position { get; private set; }

        public GgufFormatException Error(string field, long at, string problem) => new(file.FilePath, field, at, problem);

        private long Remaining => file.Length - Position;

        private void Need(long bytes, string field)
        {
            if (bytes > Remaining)
            {
                throw Error(field, Position, $"needs {bytes} bytes but the file ends after {Math.Max(Remaining, 0)} (truncated file?)");
            }
        }

        public T Read<T>(string field)
            where T : unmanaged
        {
            int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            Need(size, field);
            T v = file.Read<T>(Position);
            Position += size;
            return v;
        }

        public uint ReadUInt32(string field) => Read<uint>(field);

        /// <summary>Reads a uint64 count and checks that it could fit in the rest of the file.</summary>
        public long ReadCount(string field, int minBytesEach)
        {
            long at = Position;
            ulong n = Read<ulong>(field);
            if (n > (ulong)Math.Max(Remaining, 0) / (ulong)minBytesEach)
            {
                throw Error(field, at, $"count {n} cannot fit in the remaining {Remaining} bytes of the file");
            }
            return (long)n;
        }

        public string ReadString(string field)
        {
            long at = Position;
            ulong len = Read<ulong>(field + " length");
            if (len > (ulong)Math.Max(Remaining, 0))
            {
                throw Error(field, at, $"string length {len} runs past the end of the file ({Remaining} bytes left)");
            }
            if (len > int.MaxValue)
            {
                throw Error(field, at, $"string length {len} exceeds 2 GiB");
            }
            string s = Encoding.UTF8.GetString(file.Span(Position, (int)len));
            Position += (long)len;
            return s;
        }

        public GgufValue ReadValue(GgufValueType type, string field, long typeAt, int depth) => type switch
        {
            GgufValueType.UInt8 => GgufValue.From(Read<byte>(field)),
            GgufValueType.Int8 => GgufValue.From(Read<sbyte>(field)),
            GgufValueType.UInt16 => GgufValue.From(Read<ushort>(field)),
            GgufValueType.Int16 => GgufValue.From(Read<short>(field)),
            GgufValueType.UInt32 => GgufValue.From(Read<uint>(field)),
            GgufValueType.Int32 => GgufValue.From(Read<int>(field)),
            GgufValueType.Float32 => GgufValue.From(Read<float>(field)),
            GgufValueType.Bool => GgufValue.From(ReadBool(field)),
            GgufValueType.String => GgufValue.From(ReadString(field)),
            GgufValueType.UInt64 => GgufValue.From(Read<ulong>(field)),
            GgufValueType.Int64 => GgufValue.From(Read<long>(field)),
            GgufValueType.Float64 => GgufValue.From(Read<double>(field)),
            GgufValueType.Array => GgufValue.From(ReadArray(field, depth)),
            _ => throw Error(field + " type", typeAt, $"unknown value type {(uint)type}"),
        };

        private bool ReadBool(string field)
        {
            long at = Position;
            byte b = Read<byte>(field);
            return b switch
            {
                0 => false,
                1 => true,
                _ => throw Error(field, at, $"bool must be 0 or 1, got {b}"),
            };
        }

        private GgufArray ReadArray(string field, int depth)
        {
            long typeAt = Position;
            if (depth >= MaxArrayNesting)
            {
                throw Error(field, typeAt, $"arrays nested deeper than {MaxArrayNesting} levels");
            }
            var elementType = (GgufValueType)ReadUInt32(field + " element type");
            int elementSize = elementType switch
            {
                GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
                GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
                GgufValueType.String => 8,   // at least the length prefix
                GgufValueType.Array => 12,   // at least element type + count
                _ => throw Error(field + " element type", typeAt, $"unknown value type {(uint)elementType}"),
            };
            long count = ReadCount(field + " count", elementSize);
            switch (elementType)
            {
                case GgufValueType.UInt8: return new GgufArray(elementType, ReadBlock<byte>((int)count));
                case GgufValueType.Int8: return new GgufArray(elementType, ReadBlock<sbyte>((int)count));
                case GgufValueType.UInt16: return new GgufArray(elementType, ReadBlock<ushort>((int)count));
                case GgufValueType.Int16: return new GgufArray(elementType, ReadBlock<short>((int)count));
                case GgufValueType.UInt32: return new GgufArray(elementType, ReadBlock<uint>((int)count));
                case GgufValueType.Int32: return new GgufArray(elementType, ReadBlock<int>((int)count));
                case GgufValueType.Float32: return new GgufArray(elementType, ReadBlock<float>((int)count));
                case GgufValueType.UInt64: return new GgufArray(elementType, ReadBlock<ulong>((int)count));
                case GgufValueType.Int64: return new GgufArray(elementType, ReadBlock<long>((int)count));
                case GgufValueType.Float64: return new GgufArray(elementType, ReadBlock<double>((int)count));
                case GgufValueType.Bool:
                    {
                        var items = new bool[count];
                        for (int i = 0; i < items.Length; i++)
                        {
                            items[i] = ReadBool($"{field}[{i}]");
                        }
                        return new GgufArray(elementType, items);
                    }
                case GgufValueType.String:
                    {
                        var items = new string[count];
                        for (int i = 0; i < items.Length; i++)
                        {
                            items[i] = ReadString($"{field}[{i}]");
                        }
                        return new GgufArray(elementType, items);
                    }
                default:
                    {
                        var items = new GgufArray[count];
                        for (int i = 0; i < items.Length; i++)
                        {
                            items[i] = ReadArray($"{field}[{i}]", depth + 1);
                        }
                        return new GgufArray(elementType, items);
                    }
            }
        }

        private T[] ReadBlock<T>(int count)
            where T : unmanaged
        {
            int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            var items = new T[count];
            ReadOnlySpan<byte> bytes = file.Span(Position, count * size); // count ≤ remaining / size, checked
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).CopyTo(items);
            Position += (long)count * size;
            return items;
        }

        public GgufTensorInfo ReadTensorInfo(long index, int alignment, HashSet<string> names)
        {
            long at = Position;
            string name = ReadString($"tensor[{index}].name");
            string field = $"tensor \"{name}\"";
            if (name.Length == 0 || Encoding.UTF8.GetByteCount(name) > MaxTensorNameLength)
            {
                throw Error(field, at, $"tensor name must be 1..{MaxTensorNameLength} bytes");
            }
            if (!names.Add(name))
            {
                throw Error(field, at, "duplicate tensor name");
            }
            long dimsAt = Position;
            uint nDims = ReadUInt32(field + " n_dims");
            if (nDims > MaxDimensions)
            {
                throw Error(field + " n_dims", dimsAt, $"{nDims} dimensions; at most {MaxDimensions} are allowed");
            }
            var dims = new long[Math.Max(nDims, 1)];
            dims[0] = 1;
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                long dimAt = Position;
                ulong ne = Read<ulong>($"{field} ne[{d}]");
                if (ne > long.MaxValue)
                {
                    throw Error($"{field} ne[{d}]", dimAt, $"dimension {ne} is out of range");
                }
                if (ne != 0 && elements > long.MaxValue / (long)ne)
                {
                    throw Error($"{field} ne[{d}]", dimAt, "the product of the dimensions overflows a 64-bit count");
                }
                dims[d] = (long)ne;
                elements *= (long)ne;
            }
            long typeAt = Position;
            var type = (GgmlType)ReadUInt32(field + " type");
            if (!GgmlTypes.TryGetLayout(type, out int blockSize, out int typeSize))
            {
                throw Error(field + " type", typeAt, $"unknown tensor type {(uint)type}");
            }
            if (dims[0] % blockSize != 0)
            {
                throw Error(field + " ne[0]", dimsAt, $"row length {dims[0]} is not a multiple of the {GgmlTypes.Name(type)} block size {blockSize}");
            }
            if (elements / blockSize > long.MaxValue / typeSize)
            {
                throw Error(field, dimsAt, "the tensor's byte size overflows a 64-bit count");
            }
            long offsetAt = Position;
            ulong offset = Read<ulong>(field + " offset");
            if (offset > long.MaxValue)
            {
                throw Error(field + " offset", offsetAt, $"offset {offset} is out of range");
            }
            if ((long)offset % alignment != 0)
            {
                throw Error(field + " offset", offsetAt, $"offset {offset} is not a multiple of the alignment {alignment}");
            }
            return new GgufTensorInfo(name, type, dims, (long)offset);
        }
    }
}
