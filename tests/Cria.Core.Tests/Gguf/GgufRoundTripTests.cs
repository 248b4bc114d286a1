using Cria.Core.Gguf;
using Cria.Numerics;

namespace Cria.Core.Tests.Gguf;

public sealed class GgufRoundTripTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-gguf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static GgufWriter Sample(uint version, int? alignment)
    {
        var w = new GgufWriter(version);
        w.Add("general.architecture", "llama");
        if (alignment is int a)
        {
            w.Add("general.alignment", (uint)a);
        }
        w.Add("u8", GgufValue.From((byte)200));
        w.Add("i8", GgufValue.From((sbyte)-100));
        w.Add("u16", GgufValue.From((ushort)60000));
        w.Add("i16", GgufValue.From((short)-30000));
        w.Add("u32", GgufValue.From(4_000_000_000u));
        w.Add("i32", GgufValue.From(-2_000_000_000));
        w.Add("f32", GgufValue.From(3.25f));
        w.Add("bool", GgufValue.From(true));
        w.Add("str", GgufValue.From("héllo ▁wörld 🦙"));
        w.Add("empty", GgufValue.From(""));
        w.Add("u64", GgufValue.From(ulong.MaxValue));
        w.Add("i64", GgufValue.From(long.MinValue));
        w.Add("f64", GgufValue.From(Math.PI));
        w.Add("strings", GgufValue.From(["a", "", "<0x0A>", "▁the"]));
        w.Add("floats", GgufValue.From([1f, -2.5f, float.Epsilon]));
        w.Add("ints", GgufValue.From([1, 2, 3]));
        w.Add("bools", GgufValue.From(new GgufArray(GgufValueType.Bool, new[] { true, false })));
        w.Add("u64s", GgufValue.From(new GgufArray(GgufValueType.UInt64, new ulong[] { 0, ulong.MaxValue })));
        w.Add("nested", GgufValue.From(new GgufArray(GgufValueType.Array, new[]
        {
            new GgufArray(GgufValueType.Int32, new[] { 1, 2 }),
            new GgufArray(GgufValueType.String, new[] { "x", "y", "z" }),
            new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.Float64, new[] { 0.5 }) }),
        })));
        w.Add("empty_array", GgufValue.From(new GgufArray(GgufValueType.Float32, Array.Empty<float>())));

        var rng = new Random(7);
        var f32 = new byte[4 * 3 * 5];
        rng.NextBytes(f32);
        w.AddTensor("a.weight", GgmlType.F32, [3, 5], f32);
        var q8 = new byte[34 * 2];
        rng.NextBytes(q8);
        w.AddTensor("b.weight", GgmlType.Q8_0, [64], q8);
        var f16 = new byte[2 * 7];
        rng.NextBytes(f16);
        w.AddTensor("c", GgmlType.F16, [7, 1, 1, 1], f16);
        var q4k = new byte[144 * 2];
        rng.NextBytes(q4k);
        w.AddTensor("d.weight", GgmlType.Q4_K, [256, 2], q4k);
        return w;
    }

    [Theory]
    [InlineData(3u, null)]
    [InlineData(2u, null)]
    [InlineData(3u, 64)]
    [InlineData(3u, 8)]
    public void Write_then_read_gives_back_every_value_and_tensor(uint version, int? alignment)
    {
        GgufWriter w = Sample(version, alignment);
        string path = Path.Combine(_dir, "rt.gguf");
        w.Save(path);

        using GgufFile f = GgufFile.Open(path);
        Assert.Equal(version, f.Version);
        Assert.Equal(alignment ?? 32, f.Alignment);
        Assert.Equal(w.Metadata.Count, f.Metadata.Count);
        for (int i = 0; i < w.Metadata.Count; i++)
        {
            Assert.Equal(w.Metadata[i].Key, f.Metadata[i].Key);
            Assert.Equal(w.Metadata[i].Value, f.Metadata[i].Value);
        }
        Assert.Equal(4, f.Tensors.Count);
        Assert.Equal(["a.weight", "b.weight", "c", "d.weight"], f.Tensors.Select(t => t.Name));
        Assert.Equal([3L, 5L], f.Tensors[0].Dimensions);
        Assert.Equal(GgmlType.Q4_K, f.Tensors[3].Type);
        foreach (GgufTensorInfo t in f.Tensors)
        {
            Assert.Equal(0, t.FileOffset % f.Alignment);
        }

        // Writing what was read gives the same bytes.
        var again = new GgufWriter(version);
        foreach (GgufMetadataEntry e in f.Metadata)
        {
            again.Add(e.Key, e.Value);
        }
        foreach (GgufTensorInfo t in f.Tensors)
        {
            again.AddTensor(t.Name, t.Type, t.Dimensions, f.TensorBytes(t).ToArray());
        }
        string path2 = Path.Combine(_dir, "rt2.gguf");
        again.Save(path2);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(path2));
        Assert.Equal(3.25f, (float)f.GetFloat("f32")!.Value);
        Assert.Equal(["a", "", "<0x0A>", "▁the"], f.GetStringArray("strings")!);
        Assert.Equal("héllo ▁wörld 🦙", f.GetString("str"));
    }

    [Fact]
    public void Tensors_are_zero_copy_views_of_the_file()
    {
        string path = Path.Combine(_dir, "v.gguf");
        Sample(3, null).Save(path);
        byte[] raw = File.ReadAllBytes(path);
        using GgufFile f = GgufFile.Open(path);
        GgufTensorInfo t = f.Tensors[1];
        Assert.True(f.TensorBytes(t).SequenceEqual(raw.AsSpan((int)t.FileOffset, (int)t.ByteSize)));
        var m = f.Matrix(f.Tensors[0]);
        Assert.Equal(5, m.Rows);
        Assert.Equal(3, m.Cols);
        Assert.True(m.Row(4).SequenceEqual(raw.AsSpan((int)f.Tensors[0].FileOffset + 4 * 12, 12)));
    }

    [Fact]
    public void Positioned_tensor_reads_match_the_mapping_and_reject_ranges_outside_the_tensor()
    {
        string path = Path.Combine(_dir, "r.gguf");
        Sample(3, null).Save(path);
        using GgufFile f = GgufFile.Open(path);
        GgufTensorInfo t = f.Tensors[0];
        var row = new byte[12];
        f.ReadTensor(t, 4 * 12, row);
        Assert.True(row.AsSpan().SequenceEqual(f.Matrix(t).Row(4)));
        var all = new byte[t.ByteSize];
        f.ReadTensor(t, 0, all);
        Assert.True(all.AsSpan().SequenceEqual(f.TensorBytes(t)));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => f.ReadTensor(t, 5 * 12, row));
        Assert.Contains(t.Name, e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.ReadTensor(t, -1, row));
    }

    [Fact]
    public void Save_leaves_no_partial_file_when_a_tensor_callback_fails()
    {
        var w = new GgufWriter();
        w.Add("k", "v");
        w.AddTensor("t", GgmlType.F32, [4], s => s.Write(new byte[8])); // 8 of 16 bytes
        string path = Path.Combine(_dir, "partial.gguf");
        Assert.Throws<InvalidOperationException>(() => w.Save(path));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Writer_rejects_duplicate_keys_and_names_and_bad_shapes()
    {
        var w = new GgufWriter();
        w.Add("k", 1u);
        Assert.Throws<ArgumentException>(() => w.Add("k", 2u));
        w.AddTensor("t", GgmlType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q4_0, [31], new byte[18]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("f", GgmlType.F32, [2], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.Add("general.alignment", 3u));
    }
}
