using System.Text;

using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

public sealed class StreamingDecoderTests
{
    [Fact]
    public void Emoji_split_over_byte_tokens_comes_out_whole()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        int[] ids = tok.Encode("🦙", addSpecial: false); // ▁ <0xF0> <0x9F> <0xA6> <0x99>
        Assert.Equal([29871, 243, 162, 169, 156], ids);
        var decoder = new StreamingDecoder(tok);
        string[] pieces = [.. ids.Select(decoder.Push)];
        Assert.Equal([" ", "", "", "", "🦙"], pieces);
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Cjk_split_over_byte_level_tokens_comes_out_whole()
    {
        Tokenizer tok = TestTokenizers.Llama3;
        int[] ids = tok.Encode("Ꙋ🦙镇", addSpecial: false); // Ꙋ and 🦙 are three tokens each, 镇 one
        Assert.Equal([166, 247, 232, 9468, 99, 247, 104643], ids);
        var decoder = new StreamingDecoder(tok);
        string[] pieces = [.. ids.Select(decoder.Push)];
        Assert.Equal(["", "", "Ꙋ", "", "", "🦙", "镇"], pieces);
    }

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("deepseek-llm")]
    [InlineData("llama-bpe")]
    public void Streaming_every_test_string_gives_the_decoded_text(string vocab)
    {
        Tokenizer tok = TestTokenizers.Vocab(vocab);
        var decoder = new StreamingDecoder(tok);
        foreach ((string input, int[] _) in LlamaCppVectors.Load(vocab))
        {
            int[] ids = tok.Encode(input, addSpecial: false);
            var sb = new StringBuilder();
            foreach (int id in ids)
            {
                string piece = decoder.Push(id);
                Assert.DoesNotContain('\uFFFD', piece);
                sb.Append(piece);
            }
            sb.Append(decoder.Flush());
            Assert.Equal(tok.Decode(ids, skipSpecial: true, removeSpacePrefix: false), sb.ToString());
        }
    }

    [Fact]
    public void Bytes_that_cannot_start_a_character_come_out_at_once_as_replacement()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        var decoder = new StreamingDecoder(tok);
        Assert.True(tok.TryGetId("<0x80>", out int continuation));
        Assert.True(tok.TryGetId("<0xE4>", out int lead));
        Assert.True(tok.TryGetId("<0x41>", out int letterA));
        Assert.Equal("\uFFFD", decoder.Push(continuation));
        Assert.Equal("", decoder.Push(lead));
        Assert.Equal("\uFFFDA", decoder.Push(letterA)); // the lead byte was not followed by a continuation
        Assert.Equal("", decoder.Push(lead));
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("", decoder.Push(lead));
        decoder.Reset();
        Assert.Equal("A", decoder.Push(letterA));
    }

    [Fact]
    public void Control_tokens_add_nothing_unless_asked()
    {
        Tokenizer tok = TestTokenizers.Llama3;
        Assert.Equal("", new StreamingDecoder(tok).Push(128009));
        Assert.Equal("<|eot_id|>", new StreamingDecoder(tok, renderSpecial: true).Push(128009));
    }
}
