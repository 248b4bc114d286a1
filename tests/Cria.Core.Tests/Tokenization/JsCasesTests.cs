using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

/// <summary>
/// The llama-tokenizer-js (Llama 2, SentencePiece) and llama3-tokenizer-js (Llama 3) test cases.
/// The Llama 2 cases run against llama.cpp's Llama 2 vocab (ggml-vocab-llama-spm.gguf), the
/// Llama 3 cases against the Llama 3 tokenizer.json.
/// </summary>
public sealed class JsCasesTests
{
    private const string Llama2Cases = "tokenizers/llama2-js-cases.json";
    private const string Llama3Cases = "tokenizers/llama3-js-cases.json";

    public static TheoryData<int> Llama2() => Indices(Llama2Cases);

    public static TheoryData<int> Llama3() => Indices(Llama3Cases);

    /// <summary>
    /// Llama 2: encoding adds BOS (the library's "bos" option, which is also the vocab's
    /// add_bos_token) and the dummy-prefix space. For decoding, the library's add_bos_token option
    /// means "drop the leading BOS" (our skipSpecial) and add_preceding_space means "take the one
    /// leading space off" (our removeSpacePrefix); its "invalid params" combinations are kept.
    /// </summary>
    [Theory]
    [MemberData(nameof(Llama2))]
    public void Llama2_case(int index)
    {
        JsCase c = JsCase.Load(Llama2Cases)[index];
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        if (c.Kind is "encode" or "encode_and_decode")
        {
            Assert.True(c.Bos && !c.Eos, "every Llama 2 case adds BOS and no EOS, as the vocab does");
            AssertIds(c.Ids, tok.Encode(c.Input!, addSpecial: true), c.Input!);
        }
        if (c.Kind == "encode_and_decode")
        {
            Assert.Equal(c.Input, tok.Decode(c.Ids));
        }
        if (c.Kind == "decode")
        {
            Assert.Equal(c.Text, tok.Decode(c.Ids, skipSpecial: c.AddBosToken, removeSpacePrefix: c.AddPrecedingSpace));
        }
    }

    /// <summary>
    /// Llama 3, with Llama 3.1's special-token names: the library was written for them (the
    /// case file's notes), and with them every case holds. Special tokens written in the input are
    /// parsed; the bos/eos options put &lt;|begin_of_text|&gt;/&lt;|end_of_text|&gt; around the ids.
    /// </summary>
    [Theory]
    [MemberData(nameof(Llama3))]
    public void Llama3_case_with_3_1_names(int index) => RunLlama3(JsCase.Load(Llama3Cases)[index], TestTokenizers.Llama31);

    /// <summary>
    /// The same cases against the shipped Llama 3.0 tokenizer.json. The cases that name a token
    /// that 3.0 and 3.1 name differently (ids 128004, 128008, 128010, or a reserved token, whose
    /// numbering changed) must differ there, which shows the 3.1 names above are what makes them hold.
    /// </summary>
    [Theory]
    [MemberData(nameof(Llama3))]
    public void Llama3_case_with_3_0_names(int index)
    {
        JsCase c = JsCase.Load(Llama3Cases)[index];
        if (NeedsLlama31Names(c))
        {
            Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => RunLlama3(c, TestTokenizers.Llama3));
        }
        else
        {
            RunLlama3(c, TestTokenizers.Llama3);
        }
    }

    [Fact]
    public void Two_encode_cases_and_three_decode_cases_need_the_3_1_names()
    {
        IReadOnlyList<JsCase> cases = JsCase.Load(Llama3Cases);
        Assert.Equal(2, cases.Count(c => c.Kind != "decode" && NeedsLlama31Names(c)));
        Assert.Equal(3, cases.Count(c => c.Kind == "decode" && NeedsLlama31Names(c)));
    }

    private static void RunLlama3(JsCase c, Tokenizer tok)
    {
        if (c.Kind is "encode" or "encode_and_decode")
        {
            var ids = new List<int>();
            if (c.Bos)
            {
                ids.Add(tok.BosId);
            }
            tok.Encode(c.Input!, ids, addSpecial: false, parseSpecial: true);
            if (c.Eos)
            {
                ids.Add(tok.EosId);
            }
            AssertIds(c.Ids, [.. ids], c.Input!);
            if (c.Bos && !c.Eos)
            {
                // the vocab's own setting: add BOS, not EOS
                AssertIds(c.Ids, tok.Encode(c.Input!, addSpecial: true, parseSpecial: true), c.Input!);
            }
        }
        if (c.Kind == "encode_and_decode")
        {
            Assert.Equal(c.Input, tok.Decode(c.Ids, skipSpecial: false));
        }
        if (c.Kind == "decode")
        {
            Assert.Equal(c.Text, tok.Decode(c.Ids, skipSpecial: false));
        }
    }

    private static bool NeedsLlama31Names(JsCase c) =>
        c.Ids.Any(id => id is 128004 or 128008 or 128010) || (c.Input?.Contains("<|reserved_special_token_", StringComparison.Ordinal) ?? false);

    private static void AssertIds(int[] expected, int[] actual, string input) =>
        Assert.True(expected.AsSpan().SequenceEqual(actual),
            $"input {TestTokenizers.Escape(input)}\nexpected {TestTokenizers.Show(expected)}\nactual   {TestTokenizers.Show(actual)}");

    private static TheoryData<int> Indices(string file)
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < JsCase.Load(file).Count; i++)
        {
            data.Add(i);
        }
        return data;
    }
}
