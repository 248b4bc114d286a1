using System.Text;

using Cria.Core.Tests.Tokenization;
using Cria.Core.Tokenization;
using Cria.Grammar;
using Cria.Grammar.Tests;

namespace Cria.Core.Tests.Grammar;

/// <summary>
/// Token masks on real vocabularies against brute force: for every token, the naive reference re-reads the
/// text so far plus the token's bytes and says whether the grammar can still match; the trie walk must agree
/// exactly, at many states (including in the middle of a multi-byte character).
/// </summary>
public sealed class MaskTests
{
    private const string PersonSchema = """
        {"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"enum": ["a", "b c", "ü"]}, "maxItems": 3},
            "code": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]+$"},
            "note": {"type": "string"}},
         "required": ["name", "age"]}
        """;

    private const string PersonText = "{\"name\": \"Zoë 😀\\\"x\", \"age\": -42, \"tags\": [\"b c\", \"ü\"], \"code\": \"AB-12\", \"note\": \"naïve — ok\"}";

    /// <summary>Compares the mask with brute force at every token boundary of <paramref name="text"/> (every <paramref name="every"/>-th vocabulary entry).</summary>
    private static void CompareAlong(Tokenizer tok, CompiledGrammar g, string text, int every = 1, int maxStates = 1000)
    {
        var naive = new NaiveRecognizer(g);
        GrammarMatcher m = g.CreateMatcher(tok);
        int[] ids = TokenText.Ids(tok, text);
        var prefix = new List<byte>();
        var allowed = new bool[tok.VocabSize];
        int states = 0;
        for (int step = 0; step <= ids.Length && states < maxStates; step++, states++)
        {
            m.FillAllowed(allowed);
            byte[] soFar = [.. prefix];
            var read = naive.Read(soFar);
            for (int id = 0; id < tok.VocabSize; id += every)
            {
                bool expected = Expected(tok, naive, read, soFar, id);
                Assert.True(expected == allowed[id], $"token {id} {TestTokenizers.Escape(tok.TokenText(id))} after \"{NaiveRecognizer.Show(soFar)}\": mask says {allowed[id]}, brute force {expected}");
                Assert.Equal(expected, m.IsAllowed(id));
            }
            if (step < ids.Length)
            {
                m.Accept(ids[step]);
                prefix.AddRange(tok.TokenBytes(ids[step]).ToArray());
            }
        }
        Assert.True(m.CanEnd, "the whole text is a sentence");
    }

    private static bool Expected(Tokenizer tok, NaiveRecognizer naive, (List<int[]> Stacks, byte[] Pending)? read, byte[] soFar, int id)
    {
        if (tok.IsEndOfGeneration(id))
        {
            return naive.Matches(Encoding.UTF8.GetString(soFar)) && IsCompleteUtf8(soFar);
        }
        ReadOnlySpan<byte> bytes = tok.TokenBytes(id);
        if (tok.IsControl(id) || tok.TypeOf(id) == TokenType.Unknown || bytes.IsEmpty)
        {
            return false;
        }
        return naive.IsViable(read, bytes);
    }

    private static bool IsCompleteUtf8(byte[] bytes) =>
        System.Text.Unicode.Utf8.IsValid(bytes);

    [Fact]
    public void Json_schema_mask_equals_brute_force_on_the_32k_llama_vocabulary()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        Assert.Equal(32000, tok.VocabSize);
        CompareAlong(tok, CompiledGrammar.FromJsonSchema(PersonSchema), PersonText);
    }

    [Fact]
    public void Mask_equals_brute_force_inside_multibyte_characters()
    {
        // llama-spm has <0xNN> byte tokens: walk "é😀" byte by byte, and compare at each partial character
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        CompiledGrammar g = CompiledGrammar.Parse("root ::= [a-zé] \"😀\"? [α-ω]* \"!\"");
        var naive = new NaiveRecognizer(g);
        GrammarMatcher m = g.CreateMatcher(tok);
        var allowed = new bool[tok.VocabSize];
        byte[] text = Encoding.UTF8.GetBytes("é😀αβ!");
        for (int i = 0; i <= text.Length; i++)
        {
            m.FillAllowed(allowed);
            var read = naive.Read(text[..i]);
            for (int id = 0; id < tok.VocabSize; id++)
            {
                Assert.True(Expected(tok, naive, read, text[..i], id) == allowed[id], $"token {id} {TestTokenizers.Escape(tok.TokenText(id))} after {i} bytes");
            }
            if (i < text.Length)
            {
                Assert.True(tok.TryGetId($"<0x{text[i]:X2}>", out int byteToken));
                Assert.True(m.IsAllowed(byteToken));
                m.Accept(byteToken);
                Assert.Equal(i + 1 == text.Length, m.CanEnd);
            }
        }
        Assert.True(m.IsComplete);
    }

    [Fact]
    public void Gbnf_masks_equal_brute_force_on_a_byte_level_vocabulary()
    {
        // Llama 3 (128k byte-level BPE): tokens split characters at any byte
        Tokenizer tok = TestTokenizers.Llama3;
        CompareAlong(tok, CompiledGrammar.Parse("""
            root ::= "Answer: " (word " ")* word ("." | "!") "\n"?
            word ::= [A-Za-zÀ-ÿ一-龥]+ | [0-9]{1,3}
            """), "Answer: Hello wörld 世界 42 bye!", every: 3);
        CompareAlong(tok, CompiledGrammar.JsonObject, "{\"a\": [1, 2.5e3, {\"b\": null}], \"ü\": \"x\\n\"}", every: 5);
    }

    [Fact]
    public void Control_tokens_are_never_allowed_and_end_tokens_only_at_the_end()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        GrammarMatcher m = CompiledGrammar.Parse("root ::= \"ab\" | \"ab\" \"c\"+").CreateMatcher(tok);
        var logits = new float[tok.VocabSize];
        Assert.False(m.IsAllowed(tok.EosId));
        Assert.False(m.IsAllowed(tok.BosId));
        Assert.False(m.IsAllowed(-1));
        Assert.False(m.IsAllowed(tok.VocabSize));
        Assert.Throws<InvalidOperationException>(() => m.Accept(tok.EosId));
        foreach (int id in TokenText.Ids(tok, "ab"))
        {
            m.Accept(id);
        }
        Assert.True(m.CanEnd);
        Assert.False(m.IsComplete);
        Assert.True(m.IsAllowed(tok.EosId));
        Assert.False(m.IsAllowed(tok.BosId));
        int allowed = m.Mask(logits);
        Assert.Equal(0f, logits[tok.EosId]);
        Assert.True(float.IsNegativeInfinity(logits[tok.BosId]));
        Assert.True(float.IsNegativeInfinity(logits[tok.UnknownId]));
        Assert.Equal(logits.Count(float.IsFinite), allowed);
        Assert.Contains(TokenText.Ids(tok, "c")[0], Enumerable.Range(0, logits.Length).Where(i => logits[i] == 0f));
    }

    [Fact]
    public void A_complete_grammar_without_an_end_token_has_nothing_to_allow()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        GrammarMatcher m = CompiledGrammar.Parse("root ::= \"x\"").CreateMatcher(tok);
        m.Accept(TokenText.Ids(tok, "x")[^1]);
        Assert.True(m.IsComplete);
        var logits = new float[tok.VocabSize];
        Assert.Equal(1, m.Mask(logits)); // only the end-of-generation token
        Assert.Throws<InvalidOperationException>(() => m.Accept(TokenText.Ids(tok, "x")[^1]));
    }

    [Fact]
    public void Logits_beyond_the_tokenizer_are_masked()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        GrammarMatcher m = CompiledGrammar.JsonObject.CreateMatcher(tok);
        var logits = new float[tok.VocabSize + 8]; // a model with padding rows
        m.Mask(logits);
        Assert.All(logits[tok.VocabSize..], l => Assert.True(float.IsNegativeInfinity(l)));
    }

    [Fact]
    public void Masking_a_warm_state_allocates_nothing()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        CompiledGrammar g = CompiledGrammar.FromJsonSchema(PersonSchema);
        int[] ids = TokenText.Ids(tok, PersonText);
        var logits = new float[tok.VocabSize];
        void Run()
        {
            GrammarMatcher m = g.CreateMatcher(tok);
            foreach (int id in ids)
            {
                m.Mask(logits);
                _ = m.IsAllowed(id);
                m.Accept(id);
            }
        }
        Run(); // builds the automaton states this text reaches
        GrammarMatcher warm = g.CreateMatcher(tok);
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (int id in ids)
        {
            warm.Mask(logits);
            _ = warm.IsAllowed(id);
            warm.Accept(id);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void One_grammar_serves_matchers_on_several_threads()
    {
        Tokenizer tok = TestTokenizers.Vocab("llama-spm");
        CompiledGrammar g = CompiledGrammar.FromJsonSchema(PersonSchema);
        int[] ids = TokenText.Ids(tok, PersonText);
        var reference = new List<int>();
        GrammarMatcher single = g.CreateMatcher(tok);
        var allowed = new bool[tok.VocabSize];
        foreach (int id in ids)
        {
            reference.Add(single.FillAllowed(allowed));
            single.Accept(id);
        }
        Parallel.For(0, 4, _ =>
        {
            GrammarMatcher m = g.CreateMatcher(tok);
            var mine = new bool[tok.VocabSize];
            for (int i = 0; i < ids.Length; i++)
            {
                Assert.Equal(reference[i], m.FillAllowed(mine));
                m.Accept(ids[i]);
            }
        });
    }
}
