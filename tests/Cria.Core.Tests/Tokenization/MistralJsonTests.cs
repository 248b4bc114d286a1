using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

/// <summary>
/// The Mistral-7B tokenizer.json (SentencePiece-style BPE with byte fallback, in Hugging Face
/// form). No reference ids exist for it here, so these are consistency checks: it loads as
/// SentencePiece BPE, and encoding then decoding gives back every llama.cpp test string.
/// </summary>
public sealed class MistralJsonTests
{
    public static TheoryData<int> Strings()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < LlamaCppVectors.Load("llama-spm").Count; i++)
        {
            data.Add(i);
        }
        return data;
    }

    [Fact]
    public void Loads_as_sentencepiece_bpe_with_config_specials()
    {
        Tokenizer tok = TestTokenizers.Mistral;
        Assert.Equal(TokenizerKind.SentencePieceBpe, tok.Kind);
        Assert.Equal(32000, tok.VocabSize);
        Assert.Equal("<s>", tok.TokenText(tok.BosId));
        Assert.Equal("</s>", tok.TokenText(tok.EosId));
        Assert.Equal("<unk>", tok.TokenText(tok.UnknownId));
        Assert.True(tok.AddBos);
        Assert.False(tok.AddEos);
        Assert.True(tok.AddSpacePrefix);
        Assert.True(tok.IsEndOfGeneration(tok.EosId));
        Assert.Equal(TokenType.Byte, tok.TypeOf(tok.Encode("\n", addSpecial: false)[^1]));
    }

    [Fact]
    public void Whole_words_become_whole_pieces()
    {
        Tokenizer tok = TestTokenizers.Mistral;
        int[] ids = tok.Encode("Hello world");
        Assert.Equal(tok.BosId, ids[0]);
        Assert.Equal(["▁Hello", "▁world"], ids[1..].Select(tok.TokenText));
    }

    [Fact]
    public void Characters_without_a_piece_fall_back_to_bytes()
    {
        Tokenizer tok = TestTokenizers.Mistral;
        int[] ids = tok.Encode("🦙", addSpecial: false);
        Assert.Equal(["▁", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>"], ids.Select(tok.TokenText));
    }

    [Theory]
    [MemberData(nameof(Strings))]
    public void Round_trips_the_llama_cpp_test_strings(int index)
    {
        string input = LlamaCppVectors.Load("llama-spm")[index].Input;
        Tokenizer tok = TestTokenizers.Mistral;
        int[] ids = tok.Encode(input);
        string decoded = tok.Decode(ids);
        Assert.True(input == decoded, $"#{index} ids {TestTokenizers.Show(ids)}\nexpected {TestTokenizers.Escape(input)}\ndecoded  {TestTokenizers.Escape(decoded)}");
    }
}
