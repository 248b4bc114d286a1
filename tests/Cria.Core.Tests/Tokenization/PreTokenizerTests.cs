using Cria.Core.Gguf;
using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

/// <summary>
/// The pre-tokenizers work on code points, as llama.cpp's do. The golden vectors cover the usual
/// scripts; these cover what UTF-16 regexes get wrong: letters outside the BMP.
/// </summary>
public sealed class PreTokenizerTests
{
    private static string[] Split(string pre, string text)
    {
        var cps = new CodepointText();
        cps.Load(text);
        var words = new List<TextPiece>();
        PreTokenizer.ForLlamaCpp(pre)!.Split(cps, words, []);
        return [.. words.Select(w => text[cps.CharStart(w.Start)..cps.CharStart(w.End)])];
    }

    [Fact]
    public void Llama3_keeps_letters_outside_the_bmp_in_the_word()
    {
        // U+20000 (CJK Extension B) and U+1D400 (mathematical bold A) are letters; .NET's \p{L}
        // sees only their surrogate halves and would split them off.
        Assert.Equal(["𠀀abc", " 𝐀b"], Split("llama-bpe", "𠀀abc 𝐀b"));
    }

    [Fact]
    public void Llama3_splits_digits_in_threes_and_qwen2_in_ones()
    {
        Assert.Equal(["123", "456", "7", " x"], Split("llama-bpe", "1234567 x"));
        Assert.Equal(["1", "2", "3", " x"], Split("qwen2", "123 x"));
    }

    [Fact]
    public void Gpt2_splits_contractions_words_and_trailing_spaces()
    {
        Assert.Equal(["Hello", "'s", " world", "  ", " x", "!!", "  "], Split("gpt-2", "Hello's world   x!!  "));
    }

    [Fact]
    public void Deepseek_llm_isolates_newlines_cjk_and_trailing_space()
    {
        Assert.Equal(["a", "\n", "我想", "12", " b", "  "], Split("deepseek-llm", "a\n我想12 b  "));
    }

    [Fact]
    public void Covers_the_text_exactly()
    {
        const string text = "  Hi!\r\n\t你好 😀 x'LL 1234 𝐀 ";
        foreach (string pre in (string[])["default", "llama-bpe", "qwen2", "gpt-2", "deepseek-llm", "deepseek-coder", "falcon", "starcoder"])
        {
            Assert.Equal(text, string.Concat(Split(pre, text)));
        }
    }

    [Fact]
    public void An_unknown_pre_tokenizer_falls_back_to_default_with_a_warning()
    {
        using GgufFile file = GgufFile.Open(TestData.Path("llama.cpp/vocab/ggml-vocab-gpt-2.gguf"));
        TokenizerVocab vocab = GgufTokenizerReader.Read(file) with { PreTokenizer = "no-such-pre" };
        Tokenizer tok = Tokenizer.FromVocab(vocab);
        Assert.Equal("default", tok.PreTokenizer);
        Assert.Contains(tok.Warnings, w => w.Contains("no-such-pre", StringComparison.Ordinal));
        Assert.Equal("Hello world", tok.Decode(tok.Encode("Hello world")));
    }

    [Fact]
    public void Encoding_from_several_threads_gives_the_same_ids()
    {
        Tokenizer tok = TestTokenizers.Llama3;
        IReadOnlyList<(string Input, int[] Expected)> cases = LlamaCppVectors.Load("llama-bpe");
        Parallel.For(0, 8 * cases.Count, i =>
        {
            (string input, int[] expected) = cases[i % cases.Count];
            Assert.Equal(expected, tok.Encode(input, addSpecial: false));
        });
    }
}
