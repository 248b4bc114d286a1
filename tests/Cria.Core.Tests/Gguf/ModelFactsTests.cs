using Cria.Core.Gguf;
using Cria.Numerics;

namespace Cria.Core.Tests.Gguf;

/// <summary>What listings say about a GGUF file, in Ollama's words (the server and the store both answer from it).</summary>
public sealed class ModelFactsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-facts-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The cases of Ollama's format/format_test.go TestHumanNumber.</summary>
    [Theory]
    [InlineData(0L, "0")]
    [InlineData(999L, "999")]
    [InlineData(1000L, "1K")]
    [InlineData(1001L, "1K")]
    [InlineData(1_000_000L, "1M")]
    [InlineData(125_000_000L, "125M")]
    [InlineData(500_500_000L, "500.50M")]
    [InlineData(500_550_000L, "500.55M")]
    [InlineData(1_000_000_000L, "1B")]
    [InlineData(2_800_000_000L, "2.8B")]
    [InlineData(2_850_000_000L, "2.9B")]
    [InlineData(1_000_000_000_000L, "1000B")]
    public void Human_numbers_are_printed_as_ollama_prints_them(long n, string expected) =>
        Assert.Equal(expected, ModelFacts.HumanNumber(n));

    [Fact]
    public void The_bundled_model()
    {
        ModelFacts f = ModelFacts.Read(RepoRoot.Path("models/stories260K.gguf"));
        Assert.Equal("llama", f.Architecture);
        Assert.Equal(260_032, f.ParameterCount);
        Assert.Equal("260K", f.ParameterSize);
        Assert.Equal("F32", f.QuantizationLevel);
        Assert.Equal(512, f.ContextLength);
        Assert.Equal("MIT", f.License);
    }

    [Fact]
    public void The_file_type_names_the_quantization_and_the_tensors_count_the_parameters()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.file_type", 15u); // LLAMA_FTYPE_MOSTLY_Q4_K_M: mostly Q4_K, some Q6_K
        w.Add("general.parameter_count", GgufValue.From(7_000_000_000UL));
        w.Add("general.name", "mix");
        w.Add("general.type", "model");
        w.Add("llama.context_length", 4096u);
        w.Add("tokenizer.chat_template", "{{ messages }}");
        w.AddTensor("a.weight", GgmlType.Q4_K, [256, 8], new byte[8 * 144]);
        w.AddTensor("b.weight", GgmlType.Q6_K, [256, 4], new byte[4 * 210]);
        w.AddTensor("norm.weight", GgmlType.F32, [64], new byte[64 * 4]);
        string path = Path.Combine(_dir, "mix.gguf");
        w.Save(path);

        ModelFacts f = ModelFacts.Read(path);
        Assert.Equal("Q4_K_M", f.QuantizationLevel);
        Assert.Equal(256 * 8 + 256 * 4 + 64, f.ParameterCount); // as Ollama: the tensors, not general.parameter_count
        Assert.Equal("3K", f.ParameterSize);
        Assert.Equal(4096, f.ContextLength);
        Assert.Equal("{{ messages }}", f.ChatTemplate);
        Assert.Equal("mix", f.Name);
        Assert.Equal("model", f.Type);
        Assert.Null(f.License);
    }

    [Fact]
    public void Without_a_file_type_the_tensor_type_holding_the_most_bytes_names_it()
    {
        var w = new GgufWriter();
        w.AddTensor("a.weight", GgmlType.Q4_K, [256, 8], new byte[8 * 144]);   // 1,152 bytes
        w.AddTensor("b.weight", GgmlType.Q6_K, [256, 4], new byte[4 * 210]);   // 840 bytes, fewer elements too
        w.AddTensor("c.weight", GgmlType.F32, [256], new byte[256 * 4]);       // 1,024 bytes
        string path = Path.Combine(_dir, "bare.gguf");
        w.Save(path);

        ModelFacts f = ModelFacts.Read(path);
        Assert.Equal("Q4_K", f.QuantizationLevel);
        Assert.Equal("", f.Architecture);
        Assert.Equal(0, f.ContextLength);
        Assert.Null(f.ChatTemplate);
    }
}
