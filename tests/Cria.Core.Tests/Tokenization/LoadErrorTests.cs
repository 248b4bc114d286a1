using Cria.Core.Gguf;
using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

/// <summary>Bad tokenizer descriptions are refused with a message that names the file and the problem.</summary>
public sealed class LoadErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Gguf_without_a_tokenizer_is_refused()
    {
        string path = WriteGguf(w => w.Add("general.architecture", "llama"));
        using GgufFile file = GgufFile.Open(path);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromGguf(file));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.ggml.model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_tokenizer_model_is_refused()
    {
        string path = WriteGguf(w =>
        {
            w.Add("tokenizer.ggml.model", "bert");
            w.Add("tokenizer.ggml.tokens", GgufValue.From(["[PAD]", "a"]));
        });
        using GgufFile file = GgufFile.Open(path);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromGguf(file));
        Assert.Contains("'bert'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gpt2_vocab_without_merges_is_refused()
    {
        string path = WriteGguf(w =>
        {
            w.Add("tokenizer.ggml.model", "gpt2");
            w.Add("tokenizer.ggml.tokens", GgufValue.From(["a", "b"]));
        });
        using GgufFile file = GgufFile.Open(path);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromGguf(file));
        Assert.Contains("merges", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scores_that_do_not_match_the_tokens_are_refused()
    {
        string path = WriteGguf(w =>
        {
            w.Add("tokenizer.ggml.model", "llama");
            w.Add("tokenizer.ggml.tokens", GgufValue.From(["<unk>", "<s>", "</s>"]));
            w.Add("tokenizer.ggml.scores", GgufValue.From([0f, 0f]));
        });
        using GgufFile file = GgufFile.Open(path);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromGguf(file));
        Assert.Contains("2 scores for 3 tokens", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"model\": {\"type\": \"Unigram\"}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}")]
    public void Malformed_tokenizer_json_is_refused(string json)
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromHuggingFaceJson(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    private string WriteGguf(Action<GgufWriter> fill)
    {
        var w = new GgufWriter();
        fill(w);
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.gguf");
        using (FileStream s = File.Create(path))
        {
            w.WriteTo(s);
        }
        return path;
    }
}
