using System.Diagnostics;
using System.Globalization;
using System.Text;

using Cria.Core.Gguf;
using Cria.Core.Inference;
using Cria.Core.Sampling;
using Cria.Core.Tokenization;
using Cria.Grammar;

namespace Cria.Bench;

/// <summary>
/// Grammar-constrained decoding cost, without a model: a JSON Schema grammar is walked along a valid
/// instance token by token on a real vocabulary, and each step times a full mask (every token checked)
/// and the lazy check of one token. Napkin math: a TinyLlama-sized model decodes a token in about 20 ms
/// on this machine, so keeping 80% of its speed leaves 5 ms per step for the grammar. With --model, also
/// decode speed with and without the grammar on that file.
/// </summary>
internal static class GrammarMode
{
    private const string DefaultSchema = """
        {"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 40},
            "age": {"type": "integer"},
            "email": {"type": "string", "format": "uuid"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
            "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}, "required": ["city"]},
            "score": {"type": "number"},
            "active": {"type": "boolean"}},
         "required": ["name", "age", "active"]}
        """;

    private const string DefaultText =
        "{\"name\": \"Ada Lovelace, Countess of Lovelace\", \"age\": 36, \"tags\": [\"mathematics\", \"poetry\", \"engines\", \"naïve — ünïcödé 数学\"], "
        + "\"address\": {\"street\": \"12 St James's Square\", \"city\": \"London\"}, \"score\": -12.5e3, \"active\": true}";

    public static int Run(Options o)
    {
        string vocab = o.String("vocab") ?? FindDefaultVocab();
        string? schemaFile = o.String("schema");
        string? textFile = o.String("text");
        int reps = Math.Max(1, o.Int("reps", 5));
        string? model = o.String("model");
        int gen = Math.Max(1, o.Int("gen", 64));
        int threads = Math.Max(1, o.Int("threads", 2));
        o.ThrowIfUnused();

        var clock = Stopwatch.StartNew();
        Tokenizer tok = vocab.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? Tokenizer.FromHuggingFaceJson(vocab) : LoadGguf(vocab);
        double loadMs = clock.Elapsed.TotalMilliseconds;
        string schema = schemaFile is null ? DefaultSchema : File.ReadAllText(schemaFile);
        string text = textFile is null ? DefaultText : File.ReadAllText(textFile).Trim();

        clock.Restart();
        CompiledGrammar grammar = CompiledGrammar.FromJsonSchema(schema);
        double compileMs = clock.Elapsed.TotalMilliseconds;
        if (!grammar.Matches(text))
        {
            throw new ArgumentException("the text is not an instance of the schema's grammar");
        }
        int[] ids = ExactTokens(tok, text);
        clock.Restart();
        GrammarMatcher first = grammar.CreateMatcher(tok); // builds the token trie (once per tokenizer)
        double trieMs = clock.Elapsed.TotalMilliseconds;
        _ = first;

        Console.WriteLine(Inv($"grammar: {Path.GetFileName(vocab)} ({tok.VocabSize} tokens, loaded in {loadMs:F0} ms), schema compiled in {compileMs:F1} ms ({grammar.RuleCount} rules), token trie {trieMs:F0} ms"));
        Console.WriteLine(Inv($"walk: {ids.Length} tokens of a {text.Length}-character instance, {reps} passes (pass 1 builds the automaton states, the rest reuse them)"));
        var logits = new float[tok.VocabSize];
        var warm = new List<double>();
        double coldMean = 0, checkMean = 0;
        for (int rep = 0; rep < reps; rep++)
        {
            GrammarMatcher m = grammar.CreateMatcher(tok);
            var maskMs = new List<double>(ids.Length);
            double checkUs = 0;
            int allowedSum = 0;
            foreach (int id in ids)
            {
                long t0 = Stopwatch.GetTimestamp();
                allowedSum += m.Mask(logits);
                long t1 = Stopwatch.GetTimestamp();
                _ = m.IsAllowed(id);
                long t2 = Stopwatch.GetTimestamp();
                m.Accept(id);
                maskMs.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                checkUs += Stopwatch.GetElapsedTime(t1, t2).TotalMicroseconds;
            }
            if (rep > 0)
            {
                warm.AddRange(maskMs);
                checkMean += checkUs / ids.Length / (reps - 1);
            }
            else
            {
                coldMean = maskMs.Average();
            }
            maskMs.Sort();
            Console.WriteLine(Inv($"pass {rep + 1}: full mask {maskMs.Average():F3} ms/step (p50 {maskMs[maskMs.Count / 2]:F3}, max {maskMs[^1]:F3}), lazy check {checkUs / ids.Length:F2} µs/step, {allowedSum / ids.Length} tokens allowed on average"));
        }
        if (warm.Count > 0)
        {
            warm.Sort();
            double mean = warm.Average();
            Console.WriteLine(Inv($"warm: full mask {mean:F3} ms/step (p50 {warm[warm.Count / 2]:F3}, p95 {warm[(int)(warm.Count * 0.95)]:F3}, max {warm[^1]:F3}); at 20 ms per decoded token a mask every step keeps {20 / (20 + mean) * 100:F1}% of the speed"));
            Console.WriteLine(Inv($"RESULT vocab={tok.VocabSize} steps={ids.Length} cold_mask_ms={coldMean:F3} warm_mask_ms={mean:F3} warm_mask_p95_ms={warm[(int)(warm.Count * 0.95)]:F3} check_us={checkMean:F2}"));
        }
        if (model is not null)
        {
            EndToEnd(model, grammar, gen, reps, threads);
        }
        return 0;
    }

    /// <summary>
    /// Decode speed of a real model file with and without the grammar, runs alternating (this machine's speed
    /// drifts). With random weights the unconstrained draw is refused at nearly every structural step (few
    /// tokens fit there), so those steps pay the full mask; inside strings most draws pass the lazy check.
    /// </summary>
    private static void EndToEnd(string path, CompiledGrammar grammar, int gen, int reps, int threads)
    {
        using var pool = new Cria.Numerics.Threading.ComputePool(threads);
        using LocalModel m = LocalModel.Load(path, pool);
        var generator = new Generator(m.Model, m.Tokenizer);
        int[] prompt = m.Tokenizer.Encode("Write a JSON object about a person:", addSpecial: true);
        var plain = new List<double>();
        var constrained = new List<double>();
        int constrainedTokens = 0;
        for (int rep = 0; rep <= reps; rep++)
        {
            foreach (bool useGrammar in rep % 2 == 0 ? [false, true] : (bool[])[true, false])
            {
                var stats = new GenerationStats();
                var sampling = new SamplingOptions { Seed = (ulong)rep + 1, Grammar = useGrammar ? grammar : null };
                var options = new GenerationOptions { MaxTokens = gen, Sampling = sampling };
                foreach (string _ in generator.Generate(m.Model.CreateContext(prompt.Length + gen + 1), prompt, options, stats))
                {
                }
                if (rep == 0)
                {
                    continue; // warm-up
                }
                (useGrammar ? constrained : plain).Add(stats.TokensPerSecond);
                if (useGrammar)
                {
                    constrainedTokens += stats.GeneratedTokens;
                }
            }
        }
        double p = plain.Average(), c = constrained.Average();
        Console.WriteLine(Inv($"model {Path.GetFileName(path)}: decode {p:F1} tok/s unconstrained, {c:F1} tok/s with the grammar ({constrainedTokens / reps} tokens a run): {c / p * 100:F1}%"));
        Console.WriteLine(Inv($"RESULT e2e_plain_tok_s={p:F2} e2e_grammar_tok_s={c:F2} e2e_ratio={c / p:F3}"));
    }

    private static Tokenizer LoadGguf(string path)
    {
        using GgufFile file = GgufFile.Open(path);
        return Tokenizer.FromGguf(file);
    }

    /// <summary>Ids whose bytes are exactly the text: greedy longest match over the pieces (Encode would add SentencePiece's leading space).</summary>
    private static int[] ExactTokens(Tokenizer tok, string text)
    {
        var pieces = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tok.VocabSize; id++)
        {
            ReadOnlySpan<byte> b = tok.TokenBytes(id);
            if (!b.IsEmpty && !tok.IsControl(id) && !tok.IsEndOfGeneration(id))
            {
                pieces.TryAdd(Convert.ToHexString(b), id);
            }
        }
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var ids = new List<int>();
        for (int i = 0; i < bytes.Length;)
        {
            int n = Math.Min(48, bytes.Length - i);
            while (n > 0 && !pieces.ContainsKey(Convert.ToHexString(bytes, i, n)))
            {
                n--;
            }
            if (n == 0)
            {
                throw new ArgumentException($"the vocabulary has no token for byte 0x{bytes[i]:X2}");
            }
            ids.Add(pieces[Convert.ToHexString(bytes, i, n)]);
            i += n;
        }
        return [.. ids];
    }

    private static string FindDefaultVocab()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "data", "llama.cpp", "vocab", "ggml-vocab-llama-spm.gguf");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new ArgumentException("--vocab is required (no tests/data/llama.cpp/vocab/ggml-vocab-llama-spm.gguf above the binary)");
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
