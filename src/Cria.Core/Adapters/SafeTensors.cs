using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

using Cria.Core.Models;

namespace Cria.Core.Adapters;

/// <summary>One tensor in a safetensors file: dtype, shape and its byte range in the data section.</summary>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Hugging Face's safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// ({name: {"dtype", "shape", "data_offsets": [begin, end]}}, plus an optional "__metadata__" map of
/// strings), then the data section, tensors row-major little-endian, offsets relative to its start.
/// The writer pads the header with spaces to a multiple of 8 (as the reference implementation does)
/// and saves atomically. The reader trusts nothing: header size, JSON, every dtype, shape, offset
/// and overlap are checked against the file before a byte of data is read.
/// </summary>
public sealed class SafeTensorsFile
{
    private const long MaxHeaderBytes = 100 << 20;
    private readonly string _path;
    private readonly long _dataStart;

    private SafeTensorsFile(string path, long dataStart, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        _path = path;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Bytes per element of the dtypes this reader converts to floats.</summary>
    private static int DTypeSize(string dtype) => dtype switch
    {
        "F32" => 4,
        "F16" or "BF16" => 2,
        _ => 0,
    };

    /// <exception cref="ModelException">The file is not a well-formed safetensors file; the message says where.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ModelException Fail(string problem) => new($"{path}: {problem}");
        using var file = File.OpenHandle(path);
        long length = RandomAccess.GetLength(file);
        Span<byte> lenBytes = stackalloc byte[8];
        if (length < 8 || RandomAccess.Read(file, lenBytes, 0) != 8)
        {
            throw Fail("not a safetensors file (shorter than its 8-byte header length)");
        }
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength < 2 || headerLength > (ulong)MaxHeaderBytes || (long)headerLength > length - 8)
        {
            throw Fail($"header length {headerLength} does not fit the file of {length} bytes");
        }
        var header = new byte[(int)headerLength];
        if (RandomAccess.Read(file, header, 8) != header.Length)
        {
            throw Fail("the header could not be read whole");
        }
        long dataStart = 8 + (long)headerLength;
        long dataLength = length - dataStart;
        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            // Checked first: a name or value that is not UTF-8 would otherwise fail in the middle of reading the header.
            throw Fail("the header is not valid UTF-8");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Fail($"the header is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            ReadHeader(doc.RootElement, dataLength, tensors, metadata, Fail);
        }
        SafeTensorInfo? previous = null;
        foreach (SafeTensorInfo t in tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (previous is not null && t.Begin < previous.End)
            {
                throw Fail($"tensors {previous.Name} and {t.Name} overlap");
            }
            previous = t;
        }
        return new SafeTensorsFile(path, dataStart, tensors, metadata);
    }

    /// <summary>The header's tensors and metadata; a value of the wrong JSON type or a string escaping text that is not Unicode (<c>"\ud800"</c>) is the file's error too.</summary>
    private static void ReadHeader(JsonElement root, long dataLength, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata,
        Func<string, ModelException> fail)
    {
        try
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw fail("the header is not a JSON object");
            }
            foreach (JsonProperty p in root.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw fail("__metadata__ must be an object of strings");
                    }
                    foreach (JsonProperty m in p.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw fail($"__metadata__.{m.Name} is not a string");
                    }
                    continue;
                }
                tensors[p.Name] = ParseTensor(p, dataLength, fail);
            }
        }
        catch (InvalidOperationException e)
        {
            // JsonElement's accessors: a value of the wrong JSON type (a shape of strings), or an escape that spells no text.
            throw fail($"the header has an unexpected value: {e.Message}");
        }
    }

    private static SafeTensorInfo ParseTensor(JsonProperty p, long dataLength, Func<string, ModelException> fail)
    {
        JsonElement v = p.Value;
        string name = p.Name.Length <= 200 ? p.Name : p.Name[..200] + "…";
        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out JsonElement dtype) || dtype.ValueKind != JsonValueKind.String
            || !v.TryGetProperty("shape", out JsonElement shape) || shape.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw fail($"tensor {name}: needs \"dtype\", \"shape\" and two \"data_offsets\"");
        }
        if (shape.GetArrayLength() > 8)
        {
            throw fail($"tensor {name}: {shape.GetArrayLength()} dimensions");
        }
        var dims = new long[shape.GetArrayLength()];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (!shape[i].TryGetInt64(out dims[i]) || dims[i] < 0 || dims[i] > int.MaxValue)
            {
                throw fail($"tensor {name}: shape has an invalid dimension");
            }
            count = dims[i] == 0 ? 0 : count > long.MaxValue / dims[i] ? throw fail($"tensor {name}: shape overflows") : count * dims[i];
        }
        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin || end > dataLength)
        {
            throw fail($"tensor {name}: data_offsets lie outside the data section of {dataLength} bytes");
        }
        string type = dtype.GetString()!;
        int size = DTypeSize(type);
        if (size > 0 && count > (end - begin) / size + 1)
        {
            throw fail($"tensor {name}: shape [{string.Join(", ", dims)}] of {type} needs {count * size} bytes; its offsets span {end - begin}");
        }
        if (size > 0 && count * size != end - begin)
        {
            throw fail($"tensor {name}: shape [{string.Join(", ", dims)}] of {type} needs {count * size} bytes; its offsets span {end - begin}");
        }
        return new SafeTensorInfo(p.Name, type, dims, begin, end);
    }

    /// <summary>A tensor's values as floats (F32, F16 or BF16), every one finite.</summary>
    public float[] ReadFloats(SafeTensorInfo t)
    {
        ArgumentNullException.ThrowIfNull(t);
        int size = DTypeSize(t.DType);
        if (size == 0)
        {
            throw new ModelException($"{_path}: tensor {t.Name} has dtype {t.DType}; F32, F16 and BF16 can be read");
        }
        if (t.End - t.Begin > Array.MaxLength)
        {
            throw new ModelException($"{_path}: tensor {t.Name} is too large");
        }
        var bytes = new byte[t.End - t.Begin];
        using (var file = File.OpenHandle(_path))
        {
            if (RandomAccess.Read(file, bytes, _dataStart + t.Begin) != bytes.Length)
            {
                throw new ModelException($"{_path}: tensor {t.Name} could not be read whole");
            }
        }
        var values = new float[bytes.Length / size];
        switch (t.DType)
        {
            case "F32":
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
                break;
            case "F16":
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), values);
                break;
            default:
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2 * i)) << 16);
                }
                break;
        }
        foreach (float f in values)
        {
            if (!float.IsFinite(f))
            {
                throw new ModelException($"{_path}: tensor {t.Name} holds a value that is not finite");
            }
        }
        return values;
    }

    /// <summary>Writes F32 tensors (in the order given) and string metadata to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, long[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach ((string k, string v) in metadata)
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
            long offset = 0;
            foreach ((string name, long[] shape, float[] data) in tensors)
            {
                if (shape.Aggregate(1L, (a, b) => a * b) != data.Length)
                {
                    throw new ArgumentException($"tensor {name}: shape [{string.Join(", ", shape)}] does not match {data.Length} values");
                }
                w.WriteStartObject(name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (long d in shape)
                {
                    w.WriteNumberValue(d);
                }
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + 4L * data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += 4L * data.Length;
            }
            w.WriteEndObject();
        }
        byte[] header = json.ToArray();
        int padded = (header.Length + 7) / 8 * 8;
        string tmp = path + $".{Guid.NewGuid():N}.tmp";
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                f.Write(len);
                f.Write(header);
                f.Write(Encoding.ASCII.GetBytes(new string(' ', padded - header.Length)));
                foreach ((_, _, float[] data) in tensors)
                {
                    f.Write(MemoryMarshal.AsBytes(data.AsSpan()));
                }
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }
}
