using Cria.Hub;
using Cria.Hub.Remote;

namespace Cria.HubServer.Tests;

/// <summary>Which file a Hugging Face pull means, and which references are refused.</summary>
public sealed class HuggingFaceNameTests
{
    private static readonly RepoFile[] s_files =
    [
        new("README.md", 100, null),
        new("model.Q4_K.gguf", 400, "a"),
        new("model.Q4_K_M.gguf", 500, "b"),
        new("model.Q4_K_S.gguf", 450, "c"),
        new("model.IQ4_XS.gguf", 350, "d"),
        new("model.Q8_0.gguf", 900, "e"),
        new("mmproj-model-f16.gguf", 50, "f"),
        new("split/model.Q2_K-00001-of-00002.gguf", 10, "g"),
    ];

    [Theory]
    [InlineData(null, "model.Q4_K_M.gguf")]
    [InlineData("Q4_K_M", "model.Q4_K_M.gguf")]
    [InlineData("q4_k_m", "model.Q4_K_M.gguf")]
    [InlineData("Q4_K", "model.Q4_K.gguf")]
    [InlineData("Q8_0", "model.Q8_0.gguf")]
    [InlineData("IQ4_XS", "model.IQ4_XS.gguf")]
    public void Quant_picks_the_file_with_that_word(string? quant, string expected) =>
        Assert.Equal(expected, HuggingFaceFiles.Choose(s_files, quant, "o/r").Path);

    [Fact]
    public void Without_q4_k_m_the_smallest_single_file_model_is_chosen()
    {
        RepoFile[] files = [.. s_files.Where(f => !f.Path.Contains("Q4_K_M", StringComparison.Ordinal))];
        Assert.Equal("model.IQ4_XS.gguf", HuggingFaceFiles.Choose(files, null, "o/r").Path);
    }

    [Fact]
    public void Ambiguous_missing_and_split_choices_are_clear_errors()
    {
        RepoFile[] two = [new("a-Q4_0.gguf", 1, null), new("b-Q4_0.gguf", 1, null)];
        HubException e = Assert.Throws<HubException>(() => HuggingFaceFiles.Choose(two, "Q4_0", "o/r"));
        Assert.Contains("matches 2 files in o/r: a-Q4_0.gguf, b-Q4_0.gguf", e.Message);
        Assert.Contains("no GGUF file for quant \"Q5_K_M\"", Assert.Throws<HubException>(() => HuggingFaceFiles.Choose(s_files, "Q5_K_M", "o/r")).Message);
        Assert.Contains("split GGUF", Assert.Throws<HubException>(() => HuggingFaceFiles.Choose(s_files, "Q2_K", "o/r")).Message);
        Assert.Contains("no GGUF files", Assert.Throws<HubException>(() => HuggingFaceFiles.Choose([new("model.safetensors", 1, null)], null, "o/r")).Message);
    }

    [Theory]
    [InlineData("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "bartowski", "Llama-3.2-1B-Instruct-GGUF", "Q4_K_M", null, "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")]
    [InlineData("huggingface.co/o/r", "o", "r", null, null, "hf.co/o/r:latest")]
    [InlineData("hf.co/o/r/sub/m.Q8_0.gguf", "o", "r", null, "sub/m.Q8_0.gguf", "hf.co/o/r:m.Q8_0")]
    public void References_parse(string text, string owner, string repo, string? quant, string? file, string stored)
    {
        HuggingFaceReference r = HuggingFaceReference.Parse(text);
        Assert.Equal((owner, repo, quant, file, stored), (r.Owner, r.Repository, r.Quant, r.File, r.StoreName.ToString()));
    }

    [Theory]
    [InlineData("hf.co/o")]
    [InlineData("hf.co/../r")]
    [InlineData("hf.co/o/r/../../etc/passwd.gguf")]
    [InlineData("hf.co/o/r/a\\b.gguf")]
    [InlineData("hf.co/o/r/file.bin")]
    [InlineData("hf.co/o/r//x.gguf")]
    [InlineData("hf.co/o/r/%2e%2e/x.gguf")]
    public void Bad_references_are_refused(string text) =>
        Assert.ThrowsAny<HubException>(() => HuggingFaceReference.Parse(text));
}
