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

    /// <summary>
    /// The reliability probe: an added token with id 10⁸ made loading take 12 GB and 78 s, and 10⁹ ended in an
    /// OutOfMemoryException, because the tables are sized from the largest id. Now it is refused at once.
    /// </summary>
    [Theory]
    [InlineData("100000000")]
    [InlineData("1000000000")]
    [InlineData("2147483647")]
    [InlineData("2147483648")]
    [InlineData("1.5")]
    [InlineData("\"7\"")]
    public void An_added_token_id_far_beyond_the_vocabulary_is_refused_without_allocating_for_it(string id)
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []}, "
            + "\"added_tokens\": [{\"id\": " + id + ", \"content\": \"<x>\", \"special\": true}]}");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<TokenizerException>(() => Tokenizer.FromHuggingFaceJson(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "refusing it must not allocate tables for it");
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("token id", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A Split pattern built to backtrack without bound (<c>(a+)+$</c> on a run of a's and one b takes 2^n steps)
    /// stalled tokenizing for as long as it ran; the pattern now carries a match timeout and running past it is the
    /// file's error, naming it and the pattern.
    /// </summary>
    [Fact]
    public void A_split_pattern_that_backtracks_without_bound_is_an_error_within_the_timeout_not_a_stall()
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []}, "
            + "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
            + "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a+)+$\"}, \"behavior\": \"Isolated\", \"invert\": false}, "
            + "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": false}]}}");
        Tokenizer tokenizer = Tokenizer.FromHuggingFaceJson(path);
        Assert.NotEmpty(tokenizer.Encode("ab", addSpecial: false));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<TokenizerException>(() => tokenizer.Encode(new string('a', 60) + "b", addSpecial: false));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("split pattern 0 ran past", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Holes_of_reserved_ids_within_bounds_still_load()
    {
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []}, "
            + "\"added_tokens\": [{\"id\": 4000, \"content\": \"<x>\", \"special\": true}]}");
        Tokenizer tokenizer = Tokenizer.FromHuggingFaceJson(path);
        Assert.Equal(4001, tokenizer.VocabSize);
        Assert.Equal("<x>", tokenizer.TokenText(4000));
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
