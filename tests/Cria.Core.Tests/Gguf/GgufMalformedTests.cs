using Cria.Core.Gguf;
using Cria.Numerics;

namespace Cria.Core.Tests.Gguf;

/// <summary>Every known class of malformed GGUF file is rejected with a GgufFormatException that names the file, the field and the offset.</summary>
public sealed class GgufMalformedTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private GgufFormatException Reject(byte[] bytes, string expectField)
    {
        string path = Path.Combine(_dir, "bad.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains(expectField, e.Message);
        Assert.Contains("at byte", e.Message);
        return e;
    }

    private static byte[] OneF32Tensor(ulong offset = 0, ulong dim = 8, uint type = 0, int dataBytes = 32) =>
        new RawGguf().Header(tensors: 1, kvs: 0).Tensor("w", type, offset, dim).Align().Zeros(dataBytes).ToArray();

    [Fact]
    public void Bad_magic() => Reject(new RawGguf().Header(magic: 0x12345678).ToArray(), "magic");

    [Fact]
    public void Empty_file() => Reject([], "magic");

    [Fact]
    public void Version_1_is_refused() => Assert.Contains("version 1", Reject(new RawGguf().Header(version: 1).ToArray(), "version").Message);

    [Fact]
    public void Big_endian_is_named() => Assert.Contains("big-endian", Reject(new RawGguf().Header(version: 0x03000000).ToArray(), "version").Message);

    [Fact]
    public void Key_length_near_2_to_64() =>
        Reject(new RawGguf().Header(kvs: 1).U64(ulong.MaxValue - 3).Zeros(16).ToArray(), "metadata[0].key");

    [Fact]
    public void String_value_length_near_2_to_64() =>
        Reject(new RawGguf().Header(kvs: 1).Str("k").U32(8).U64(ulong.MaxValue).Zeros(16).ToArray(), "metadata \"k\"");

    [Fact]
    public void Array_count_near_2_to_64() =>
        Reject(new RawGguf().Header(kvs: 1).Str("arr").U32(9).U32(5).U64(ulong.MaxValue / 2).Zeros(64).ToArray(), "metadata \"arr\" count");

    [Fact]
    public void String_array_count_too_large_for_the_file() =>
        Reject(new RawGguf().Header(kvs: 1).Str("arr").U32(9).U32(8).U64(1UL << 40).Zeros(64).ToArray(), "count");

    [Fact]
    public void Metadata_count_too_large_for_the_file() =>
        Reject(new RawGguf().Header(kvs: ulong.MaxValue).ToArray(), "metadata_kv_count");

    [Fact]
    public void Tensor_count_too_large_for_the_file() =>
        Reject(new RawGguf().Header(tensors: 1UL << 62).ToArray(), "tensor_count");

    [Fact]
    public void Unknown_value_type() =>
        Reject(new RawGguf().Header(kvs: 1).Str("k").U32(99).Zeros(8).ToArray(), "type");

    [Fact]
    public void Nesting_too_deep()
    {
        var raw = new RawGguf().Header(kvs: 1).Str("deep");
        raw.U32(9);
        for (int i = 0; i < 20; i++)
        {
            raw.U32(9).U64(1);
        }
        raw.U32(4).U64(1).U32(7);
        Assert.Contains("nested", Reject(raw.ToArray(), "deep").Message);
    }

    [Fact]
    public void Bool_other_than_0_or_1() =>
        Reject(new RawGguf().Header(kvs: 1).Str("b").U32(7).Bytes([2]).ToArray(), "metadata \"b\"");

    [Fact]
    public void Duplicate_key() =>
        Reject(new RawGguf().Header(kvs: 2).KvU32("a", 1).KvU32("a", 2).ToArray(), "duplicate key");

    [Fact]
    public void Alignment_not_a_power_of_two() =>
        Reject(new RawGguf().Header(kvs: 1).KvU32("general.alignment", 24).ToArray(), "general.alignment");

    [Fact]
    public void More_than_four_dimensions() =>
        Reject(new RawGguf().Header(tensors: 1).Tensor("w", 0, 0, 1, 1, 1, 1, 1).Align().Zeros(32).ToArray(), "n_dims");

    [Fact]
    public void Dimension_product_overflows() =>
        Reject(new RawGguf().Header(tensors: 1).Tensor("w", 0, 0, 1UL << 32, 1UL << 32).Align().Zeros(32).ToArray(), "overflow");

    [Fact]
    public void Dimension_above_int64() =>
        Reject(new RawGguf().Header(tensors: 1).Tensor("w", 0, 0, ulong.MaxValue).Align().Zeros(32).ToArray(), "ne[0]");

    [Fact]
    public void Byte_size_overflows_even_when_element_count_does_not() =>
        Reject(new RawGguf().Header(tensors: 1).Tensor("w", 0, 0, 1UL << 62).Align().Zeros(32).ToArray(), "tensor \"w\"");

    [Fact]
    public void Tensor_data_past_end_of_file() => Reject(OneF32Tensor(dim: 1024), "tensor \"w\" data");

    [Fact]
    public void Tensor_offset_past_end_of_file() => Reject(OneF32Tensor(offset: 1UL << 40), "tensor \"w\" data");

    [Fact]
    public void Misaligned_offset() => Reject(OneF32Tensor(offset: 4), "offset");

    [Fact]
    public void Unknown_tensor_type() => Assert.Contains("unknown tensor type 99", Reject(OneF32Tensor(type: 99), "type").Message);

    [Fact]
    public void Row_not_a_whole_number_of_blocks() => Reject(OneF32Tensor(type: (uint)GgmlType.Q4_0, dim: 48), "block size");

    [Fact]
    public void Overlapping_tensors() =>
        Reject(new RawGguf().Header(tensors: 2).Tensor("a", 0, 0, 16).Tensor("b", 0, 32, 16).Align().Zeros(96).ToArray(), "overlaps");

    [Fact]
    public void Duplicate_tensor_name() =>
        Reject(new RawGguf().Header(tensors: 2).Tensor("a", 0, 0, 8).Tensor("a", 0, 32, 8).Align().Zeros(64).ToArray(), "duplicate tensor name");

    [Fact]
    public void Tensor_name_too_long() =>
        Reject(new RawGguf().Header(tensors: 1).Tensor(new string('x', 80), 0, 0, 8).Align().Zeros(32).ToArray(), "name");

    [Fact]
    public void Every_truncation_of_a_valid_file_is_rejected_cleanly()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("tokens", GgufValue.From(["<s>", "a", "b"]));
        w.Add("scores", GgufValue.From([0f, -1f, -2f]));
        w.AddTensor("t", GgmlType.Q8_0, [32, 2], new byte[68]);
        var ms = new MemoryStream();
        w.WriteTo(ms);
        byte[] full = ms.ToArray();
        string path = Path.Combine(_dir, "cut.gguf");
        File.WriteAllBytes(path, full);
        long contentEnd;
        using (GgufFile f = GgufFile.Open(path))
        {
            contentEnd = f.Tensors.Max(t => t.FileOffset + t.ByteSize);
        }
        // Padding after the last tensor is optional; every cut into real content must fail cleanly.
        for (int len = 0; len < contentEnd; len++)
        {
            File.WriteAllBytes(path, full.AsSpan(0, len).ToArray());
            Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
        }
    }

    [Fact]
    public void Random_corruption_never_escapes_as_another_exception()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.alignment", 32u);
        w.Add("tokens", GgufValue.From(["<s>", "hello", "▁x"]));
        w.Add("nested", GgufValue.From(new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.Int32, new[] { 1 }) })));
        w.AddTensor("a", GgmlType.F32, [8], new byte[32]);
        w.AddTensor("b", GgmlType.Q4_0, [32, 2], new byte[36]);
        var ms = new MemoryStream();
        w.WriteTo(ms);
        byte[] good = ms.ToArray();
        var rng = new Random(1234);
        string path = Path.Combine(_dir, "fuzz.gguf");
        for (int i = 0; i < 2000; i++)
        {
            byte[] bad = (byte[])good.Clone();
            int flips = 1 + rng.Next(4);
            for (int f = 0; f < flips; f++)
            {
                int at = rng.Next(Math.Min(bad.Length, 200));
                bad[at] = (byte)rng.Next(256);
            }
            File.WriteAllBytes(path, bad);
            try
            {
                GgufFile.Open(path).Dispose();
            }
            catch (GgufFormatException)
            {
            }
        }
    }
}
