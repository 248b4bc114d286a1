using Cria.Core.Conversion;

namespace Cria.Core.Tests.Conversion;

/// <summary>Malformed llama2.c checkpoints and tokenizers are refused with a message naming the file and field, and leave no output.</summary>
public sealed class Llama2cImporterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-l2c-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Checkpoint => TestData.Path("models/stories260K/stories260K.bin");

    private static string Tokenizer => TestData.Path("models/stories260K/tok512.bin");

    private string Out => Path.Combine(_dir, "out.gguf");

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Truncated_checkpoint_is_refused()
    {
        byte[] full = File.ReadAllBytes(Checkpoint);
        string path = Write("cut.bin", full.AsSpan(0, full.Length - 100).ToArray());
        var e = Assert.Throws<ConversionException>(() => Llama2cImporter.Import(path, Tokenizer, Out));
        Assert.Contains("cut.bin", e.Message);
        Assert.Contains("weights", e.Message);
        Assert.False(File.Exists(Out));
    }

    [Theory]
    [InlineData(0, 0)]            // dim 0
    [InlineData(0, -5)]           // negative dim
    [InlineData(2, 1 << 30)]      // absurd layer count
    [InlineData(3, 7)]            // heads that do not divide dim
    public void Impossible_header_values_are_refused(int field, int value)
    {
        byte[] bytes = File.ReadAllBytes(Checkpoint);
        BitConverter.GetBytes(value).CopyTo(bytes, field * 4);
        string path = Write("bad.bin", bytes);
        var e = Assert.Throws<ConversionException>(() => Llama2cImporter.Import(path, Tokenizer, Out));
        Assert.Contains("bad.bin", e.Message);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public void Tiny_file_is_refused()
    {
        string path = Write("tiny.bin", [1, 2, 3]);
        Assert.Contains("header", Assert.Throws<ConversionException>(() => Llama2cImporter.Import(path, Tokenizer, Out)).Message);
    }

    [Fact]
    public void Tokenizer_with_a_token_past_its_end_is_refused()
    {
        byte[] tok = File.ReadAllBytes(Tokenizer);
        string path = Write("tok.bin", tok.AsSpan(0, tok.Length / 2).ToArray());
        var e = Assert.Throws<ConversionException>(() => Llama2cImporter.Import(Checkpoint, path, Out));
        Assert.Contains("tok.bin", e.Message);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public void Quantized_import_keeps_rows_that_are_not_whole_blocks_in_f32()
    {
        Llama2cImporter.Import(Checkpoint, Tokenizer, Out, new Llama2cImportOptions { WeightType = Cria.Numerics.GgmlType.Q8_0 });
        using var f = Cria.Core.Gguf.GgufFile.Open(Out);
        Assert.True(f.TryGetTensor("blk.0.attn_q.weight", out var q));
        Assert.Equal(Cria.Numerics.GgmlType.Q8_0, q.Type);
        Assert.True(f.TryGetTensor("blk.0.ffn_down.weight", out var down)); // rows of 172: not a multiple of 32
        Assert.Equal(Cria.Numerics.GgmlType.F32, down.Type);
    }
}
