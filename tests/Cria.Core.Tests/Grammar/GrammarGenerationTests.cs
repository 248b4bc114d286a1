using System.Text.Json;

using Cria.Core.Inference;
using Cria.Core.Sampling;
using Cria.Core.Tests.Models;
using Cria.Grammar;
using Cria.Grammar.Tests;

namespace Cria.Core.Tests.Grammar;

/// <summary>
/// Generation with the bundled stories260K model (it writes children's stories, not JSON) under grammars:
/// whatever it would say, the output must be an instance of the schema, for every seed.
/// </summary>
public sealed class GrammarGenerationTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    // Bounded (maxLength, maxItems, 16-digit numbers, whitespace ≤ 21 characters), so every generation ends
    // within the token budget: the longest instance is well under 1,500 bytes, and a token is at least one byte.
    private const string Schema = """
        {"type": "object",
         "properties": {
            "name": {"type": "string", "maxLength": 12},
            "age": {"type": "integer"},
            "pet": {"enum": ["cat", "dog", "big fish"]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
            "ok": {"type": "boolean"},
            "when": {"type": "string", "format": "date"},
            "code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}$"},
            "size": {"anyOf": [{"type": "number"}, {"type": "null"}]}},
         "required": ["name", "age", "pet", "ok"]}
        """;

    private static readonly SamplingOptions s_wild = new() { Temperature = 1.5f, TopK = 0, TopP = 1f, MinP = 0f };

    private (string Text, GenerationStats Stats) Generate(CompiledGrammar grammar, SamplingOptions sampling, string prompt = "Once upon a time", int maxTokens = 1500)
    {
        var model = fixture.Model;
        var gen = new Generator(model.Model, model.Tokenizer);
        var stats = new GenerationStats();
        int[] ids = model.Tokenizer.Encode(prompt, addSpecial: true);
        var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = sampling with { Grammar = grammar } };
        string text = string.Concat(gen.Generate(model.Model.CreateContext(ids.Length + maxTokens + 1), ids, options, stats));
        return (text, stats);
    }

    [Fact]
    public void Every_seed_writes_a_valid_instance_of_the_schema()
    {
        CompiledGrammar grammar = CompiledGrammar.FromJsonSchema(Schema);
        for (ulong seed = 1; seed <= 50; seed++)
        {
            foreach (SamplingOptions sampling in (SamplingOptions[])[new() { Seed = seed }, s_wild with { Seed = seed }])
            {
                (string text, GenerationStats stats) = Generate(grammar, sampling);
                Assert.True(stats.FinishReason == FinishReason.Stop, $"seed {seed}: {stats.FinishReason} after {stats.GeneratedTokens} tokens: {text}");
                using JsonDocument doc = JsonDocument.Parse(text); // throws if it is not JSON
                Assert.True(SchemaValidator.IsValid(Schema, text), $"seed {seed}: not valid under the schema: {text}");
                Assert.True(grammar.Matches(text), text);
                JsonElement root = doc.RootElement;
                Assert.Equal(JsonValueKind.String, root.GetProperty("name").ValueKind);
                Assert.True(root.GetProperty("age").TryGetInt64(out _));
                Assert.Contains(root.GetProperty("pet").GetString(), (string[])["cat", "dog", "big fish"]);
            }
        }
    }

    [Fact]
    public void Json_object_mode_writes_json_objects()
    {
        for (ulong seed = 1; seed <= 10; seed++)
        {
            (string text, GenerationStats stats) = Generate(CompiledGrammar.JsonObject, new SamplingOptions { Seed = seed }, maxTokens: 400);
            if (stats.FinishReason == FinishReason.Stop)
            {
                using JsonDocument doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 1000 });
                Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            }
            else
            {
                // out of budget inside an unbounded string or array: what there is must still be a prefix of JSON
                Assert.Equal(FinishReason.Length, stats.FinishReason);
                Assert.True(CompiledGrammar.JsonObject.IsPrefix(text), text);
            }
        }
    }

    [Fact]
    public void A_grammar_of_one_string_yields_exactly_it()
    {
        const string fixedText = "The answer is 42, said Lily. 😀";
        CompiledGrammar grammar = CompiledGrammar.Parse("root ::= " + GbnfLiteral(fixedText));
        foreach (SamplingOptions sampling in (SamplingOptions[])[SamplingOptions.Greedy, new() { Seed = 3 }, s_wild with { Seed = 4 }])
        {
            (string text, GenerationStats stats) = Generate(grammar, sampling, maxTokens: 200);
            Assert.Equal(fixedText, text);
            Assert.Equal(FinishReason.Stop, stats.FinishReason);
        }
    }

    [Fact]
    public void Greedy_with_a_grammar_is_the_argmax_of_the_allowed_tokens()
    {
        var model = fixture.Model;
        var tok = model.Tokenizer;
        CompiledGrammar grammar = CompiledGrammar.Parse("root ::= [0-9]+ \".\"");
        int[] prompt = tok.Encode("Once upon a time", addSpecial: true);
        var ctx = model.Model.CreateContext(128);
        model.Model.Forward(ctx, prompt);
        GrammarMatcher matcher = grammar.CreateMatcher(tok);
        var sampler = new Sampler(model.Model.VocabSize, SamplingOptions.Greedy);
        for (int step = 0; step < 20 && !matcher.IsComplete; step++)
        {
            float[] masked = ctx.Logits.ToArray();
            matcher.Mask(masked);
            int expected = Array.IndexOf(masked, masked.Max());
            int token = sampler.Sample(ctx.Logits, matcher);
            Assert.Equal(expected, token);
            if (tok.IsEndOfGeneration(token))
            {
                break;
            }
            matcher.Accept(token);
            model.Model.Forward(ctx, [token]);
        }
    }

    [Fact]
    public void Without_a_grammar_nothing_changes()
    {
        // The reference: the decode loop with the sampler's grammar-free overload, nothing of the grammar code
        // involved. The generator without a grammar, and with a grammar that allows every text (the lazy check
        // then never masks), must draw the same tokens; a grammar that rules out the reference's first token
        // must not, so the comparison can tell a grammar from none.
        var model = fixture.Model;
        int[] prompt = model.Tokenizer.Encode("Lily saw a", addSpecial: true);
        var sampling = new SamplingOptions { Seed = 9 };
        const int maxTokens = 40;

        var reference = new List<int>();
        var ctx = model.Model.CreateContext(128);
        var sampler = new Sampler(model.Model.VocabSize, sampling);
        foreach (int t in prompt)
        {
            sampler.Accept(t);
        }
        model.Model.Forward(ctx, prompt);
        while (reference.Count < maxTokens)
        {
            int token = sampler.Sample(ctx.Logits);
            if (model.Tokenizer.IsEndOfGeneration(token))
            {
                break;
            }
            reference.Add(token);
            sampler.Accept(token);
            model.Model.Forward(ctx, [token]);
        }
        Assert.True(reference.Count > 10, $"the reference wrote only {reference.Count} tokens");

        int[] Tokens(CompiledGrammar? grammar)
        {
            var gen = new Generator(model.Model, model.Tokenizer);
            var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = sampling with { Grammar = grammar } };
            return [.. gen.GenerateSteps(model.Model.CreateContext(128), prompt, options, new GenerationStats()).Where(s => s.Token >= 0).Select(s => s.Token)];
        }
        Assert.Equal(reference, Tokens(null));
        Assert.Equal(reference, Tokens(CompiledGrammar.Parse("root ::= [^\\x00]*")));

        string first = model.Tokenizer.Decode([reference[0]]).TrimStart(' ');
        Assert.NotEmpty(first);
        CompiledGrammar without = CompiledGrammar.Parse($"root ::= [^\\x00{GbnfClassChar(first[0])}]*");
        int[] constrained = Tokens(without);
        Assert.NotEqual(reference, constrained);
        Assert.DoesNotContain(first[0], model.Tokenizer.Decode(constrained));
    }

    [Fact]
    public void A_grammar_of_the_empty_string_stops_at_once()
    {
        (string text, GenerationStats stats) = Generate(CompiledGrammar.Parse("root ::= \"\""), new SamplingOptions { Seed = 1 });
        Assert.Equal("", text);
        Assert.Equal(0, stats.GeneratedTokens);
        Assert.Equal(FinishReason.Stop, stats.FinishReason);
    }

    [Fact]
    public void A_grammar_no_token_can_satisfy_is_an_error_not_a_loop()
    {
        // U+E000 (private use) has no piece in the 512-token vocabulary, but byte tokens can still spell it;
        // a code point no UTF-8 can write at all (a surrogate) leaves nothing allowed.
        (string text, GenerationStats stats) = Generate(CompiledGrammar.Parse("root ::= \"\\uE000\""), new SamplingOptions { Seed = 1 }, maxTokens: 10);
        Assert.Equal("\uE000", text);
        Assert.Equal(FinishReason.Stop, stats.FinishReason);
        var e = Assert.Throws<GrammarException>(() => Generate(CompiledGrammar.Parse("root ::= \"a\" [\\uD800-\\uDFFF]"), new SamplingOptions { Seed = 1 }, maxTokens: 10));
        Assert.Contains("no token of the vocabulary can write what the grammar needs next", e.Message, StringComparison.Ordinal);
    }

    private static string GbnfClassChar(char c) => $"\\u{(int)c:X4}";

    private static string GbnfLiteral(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
