using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

/// <summary>BOS/EOS, control and user-defined tokens, parsing special tokens in text, end of generation.</summary>
public sealed class SpecialTokenTests
{
    [Fact]
    public void Control_token_text_is_parsed_only_when_asked()
    {
        Tokenizer tok = TestTokenizers.Llama3;
        const string text = "<|start_header_id|>user<|end_header_id|>";
        Assert.Equal([128006, 882, 128007], tok.Encode(text, addSpecial: false, parseSpecial: true));
        int[] plain = tok.Encode(text, addSpecial: false, parseSpecial: false);
        Assert.DoesNotContain(128006, plain);
        Assert.Equal(text, tok.Decode(plain));
    }

    [Fact]
    public void Sentencepiece_puts_a_space_prefix_after_each_special_token()
    {
        // llama.cpp (this version): every text fragment after BOS or a special token gets the '▁'
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        Assert.Equal([1, 15043, 2, 1, 15043], tok.Encode("Hello</s><s>Hello", addSpecial: true, parseSpecial: true));
        int[] plain = tok.Encode("<s>Hello", addSpecial: false, parseSpecial: false);
        Assert.DoesNotContain(1, plain);
        Assert.Equal("<s>Hello", tok.Decode(plain));
    }

    [Fact]
    public void User_defined_tokens_are_matched_even_without_parsing_special_tokens()
    {
        // DeepSeek's vocabs list some Latin-1 letters as user-defined tokens (ü is 100014)
        Tokenizer tok = TestTokenizers.Vocab("deepseek-llm");
        Assert.Equal(TokenType.UserDefined, tok.TypeOf(100014));
        Assert.Contains(100014, tok.Encode("über", addSpecial: false, parseSpecial: false));
    }

    [Fact]
    public void Phi3_special_tokens_take_the_whitespace_after_them()
    {
        // llama.cpp marks Phi-3's special tokens rstrip by model name; </s> is user-defined there
        Tokenizer tok = TestTokenizers.Vocab("phi-3");
        int[] ids = tok.Encode("</s>   Hi", addSpecial: false, parseSpecial: false);
        Assert.Equal(2, ids[0]);
        Assert.Equal(tok.Encode("</s>Hi", addSpecial: false, parseSpecial: false), ids);
    }

    [Fact]
    public void Bos_and_eos_follow_the_vocab()
    {
        Tokenizer spm = TestTokenizers.Vocab("llama-spm");
        Assert.Equal([1, 15043], spm.Encode("Hello"));
        Assert.Equal([15043], spm.Encode("Hello", addSpecial: false));
        Assert.True(spm.AddBos);
        Assert.False(spm.AddEos);

        Tokenizer gpt2 = TestTokenizers.Vocab("gpt-2");
        Assert.False(gpt2.AddBos);
        Assert.Equal(gpt2.Encode("Hello", addSpecial: false), gpt2.Encode("Hello"));

        Tokenizer llama3 = TestTokenizers.Llama3;
        Assert.True(llama3.AddBos);
        Assert.Equal(128000, llama3.BosId);
        Assert.Equal(128001, llama3.EosId);
        Assert.Equal([128000], llama3.Encode(""));
    }

    [Fact]
    public void End_of_generation_covers_eos_and_named_end_tokens()
    {
        Tokenizer llama3 = TestTokenizers.Llama3;
        Assert.True(llama3.IsEndOfGeneration(128001)); // <|end_of_text|>, EOS
        Assert.True(llama3.IsEndOfGeneration(128009)); // <|eot_id|>, found by name
        Assert.Equal(128009, llama3.EotId);
        Assert.False(llama3.IsEndOfGeneration(128000));
        Assert.False(llama3.IsEndOfGeneration(40));
        Assert.True(llama3.IsControl(128000));
        Assert.False(llama3.IsControl(40));

        Tokenizer phi3 = TestTokenizers.Vocab("phi-3");
        Assert.True(phi3.TryGetId("<|end|>", out int end));
        Assert.True(phi3.IsEndOfGeneration(end));
        Assert.True(phi3.IsEndOfGeneration(phi3.EosId));
    }

    [Fact]
    public void Token_bytes_map_pieces_back_to_text()
    {
        Tokenizer spm = TestTokenizers.Vocab("llama-spm");
        Assert.Equal(" Hello"u8.ToArray(), spm.TokenBytes(15043).ToArray());
        Assert.Equal([0x0A], spm.TokenBytes(13).ToArray()); // <0x0A>
        Assert.True(spm.TokenBytes(1).IsEmpty);             // <s>
        Assert.Equal("<s>"u8.ToArray(), spm.TokenBytes(1, special: true).ToArray());
        Assert.Equal("▁Hello", spm.TokenText(15043));

        Tokenizer llama3 = TestTokenizers.Llama3;
        Assert.Equal(" grabbed"u8.ToArray(), llama3.TokenBytes(30418).ToArray()); // stored as "Ġgrabbed"
        Assert.Equal("Ġgrabbed", llama3.TokenText(30418));
    }

    [Fact]
    public void Decode_skips_control_tokens_unless_asked()
    {
        Tokenizer llama3 = TestTokenizers.Llama3;
        int[] ids = [128000, 9906, 128009];
        Assert.Equal("Hello", llama3.Decode(ids));
        Assert.Equal("<|begin_of_text|>Hello<|eot_id|>", llama3.Decode(ids, skipSpecial: false));
    }

    [Fact]
    public void Ids_out_of_range_are_rejected()
    {
        Tokenizer tok = TestTokenizers.Vocab("gpt-2");
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.TokenText(tok.VocabSize));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([-1]));
        Assert.False(tok.IsEndOfGeneration(-1));
    }
}
