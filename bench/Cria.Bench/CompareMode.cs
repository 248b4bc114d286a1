using System.Globalization;
using System.Text;

using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Bench;

/// <summary>
/// Correctness against llama.cpp on one GGUF file: tokenization, greedy decoding, per-step logits
/// and perplexity. llama.cpp is the reference: both engines decode from llama.cpp's token ids;
/// logits are compared with teacher forcing (Cria is fed llama.cpp's greedy tokens), so every
/// step compares the same history; the greedy token lists are each engine's own.
/// Both engines keep the KV cache in the same type (--kv, F32 by default; the perplexity phase uses
/// F16, as Cria's Perplexity.Run does) and llama.cpp's flash attention is off (its CPU kernel
/// accumulates V in F16), so the remaining differences come from the arithmetic of the matrix
/// products (how each engine rounds activations before a quantized or F16 dot product). A q8_0
/// cache needs llama.cpp's flash attention, which also rounds each query to Q8_0 before q·k (Cria
/// keeps queries in f32), so that comparison carries the attention's rounding too.
/// </summary>
internal static class CompareMode
{
    public static int Run(Options o)
    {
        string model = o.Required("model");
        string llamaModel = o.String("llama-model") ?? model;
        string prompt = o.String("prompt") ?? "Once upon a time";
        int gen = o.Int("gen", 64);
        string? pplFile = o.String("ppl-file");
        int pplCtx = o.Int("ctx", 128);
        int chunks = o.Int("chunks", 0);
        int threads = Math.Max(1, o.Int("threads", 2));
        int steps = o.Int("steps", 8);
        bool verbose = o.Flag("verbose");
        KvCacheType kv = KvOption.Parse(o, KvCacheType.F32);
        bool repack = !o.Flag("llama-no-repack");
        o.ThrowIfUnused();
        string name = Path.GetFileNameWithoutExtension(model);
        LlamaCppEngine.ConfigureLogging(verbose);

        Console.WriteLine(llamaModel == model
            ? $"compare: {model}, threads {threads}, gen {gen}, KV cache {KvOption.Name(kv)}{(repack ? "" : ", llama.cpp repacking off")}"
            : $"compare: cria on {model}, llama.cpp on {llamaModel}, threads {threads}, gen {gen}, KV cache {KvOption.Name(kv)}{(repack ? "" : ", llama.cpp repacking off")}");
        // A prompt has at most one token per UTF-8 byte, plus BOS.
        int ctxLength = Encoding.UTF8.GetByteCount(prompt) + 1 + gen + 8;
        using var cria = new CriaEngine(model, threads, ctxLength, maxBatch: 64, kv);
        int[] criaIds = cria.Tokenize(prompt, addSpecial: true);
        using var llama = new LlamaCppEngine(llamaModel, new LlamaCppSettings(ctxLength, 512, threads, kv, FlashAttention: false, repack));
        if (llama.VocabSize != cria.VocabSize)
        {
            Console.WriteLine($"vocab sizes differ: cria {cria.VocabSize}, llama.cpp {llama.VocabSize}");
        }

        // 1. Tokenization.
        int[] ids = llama.Tokenize(prompt, addSpecial: true);
        bool tokensMatch = criaIds.AsSpan().SequenceEqual(ids);
        Console.WriteLine();
        Console.WriteLine($"prompt: \"{prompt}\"");
        Console.WriteLine($"  llama.cpp ids ({ids.Length}): {Join(ids)}");
        Console.WriteLine($"  cria ids      ({criaIds.Length}): {Join(criaIds)}");
        Console.WriteLine($"  tokenization match: {Bool(tokensMatch)}");

        // 2. Greedy decoding: llama.cpp, keeping every step's logits.
        var refLogits = new float[gen + 1][];
        var llamaTokens = new int[gen];
        llama.Reset();
        ReadOnlySpan<float> row = llama.Feed(ids);
        for (int s = 0; ; s++)
        {
            refLogits[s] = row.ToArray();
            if (s == gen)
            {
                break;
            }
            llamaTokens[s] = Logits.Argmax(row);
            row = llama.Feed([llamaTokens[s]]);
        }

        // Cria, teacher-forced on llama.cpp's tokens: the same history at every step.
        Console.WriteLine();
        Console.WriteLine("per-step logits (Cria fed llama.cpp's tokens):");
        Console.WriteLine("  step  llama.cpp  cria  ref margin  max |Δ|      max |Δ|/max|ref|  rank of ref token in cria");
        cria.Reset();
        row = cria.Feed(ids);
        double worstAbs = 0, worstRel = 0;
        int disagreements = 0, firstDisagreement = -1;
        for (int s = 0; s < gen; s++)
        {
            (double abs, double rel) = Logits.Difference(row, refLogits[s]);
            worstAbs = Math.Max(worstAbs, double.IsNaN(abs) ? double.PositiveInfinity : abs);
            worstRel = Math.Max(worstRel, double.IsNaN(rel) ? double.PositiveInfinity : rel);
            int mine = Logits.Argmax(row);
            if (mine != llamaTokens[s])
            {
                disagreements++;
                firstDisagreement = firstDisagreement < 0 ? s : firstDisagreement;
            }
            if (s < steps || mine != llamaTokens[s])
            {
                Console.WriteLine(Inv($"  {s,4}  {llamaTokens[s],9}  {mine,4}  {Logits.Margin(refLogits[s]),10:G4}  {abs,-11:G4}  {rel,-16:G4}  {Logits.Rank(row, llamaTokens[s])}"));
            }
            row = cria.Feed([llamaTokens[s]]);
        }
        Console.WriteLine(Inv($"  over all {gen} steps: worst max|Δ| {worstAbs:G4}, worst relative {worstRel:G4}, argmax disagreements {disagreements}"));

        // Cria's own greedy run.
        var criaTokens = new int[gen];
        cria.Reset();
        row = cria.Feed(ids);
        for (int s = 0; s < gen; s++)
        {
            criaTokens[s] = Logits.Argmax(row);
            if (s + 1 < gen)
            {
                row = cria.Feed([criaTokens[s]]);
            }
        }
        int divergence = -1;
        for (int s = 0; s < gen && divergence < 0; s++)
        {
            if (criaTokens[s] != llamaTokens[s])
            {
                divergence = s;
            }
        }
        Console.WriteLine();
        Console.WriteLine("greedy tokens:");
        Console.WriteLine($"  llama.cpp: {Join(llamaTokens)}");
        Console.WriteLine($"  cria:      {Join(criaTokens)}");
        Console.WriteLine($"  text (cria's tokenizer, llama.cpp's tokens): \"{Escape(cria.Local.Tokenizer.Decode(llamaTokens))}\"");
        Console.WriteLine(divergence < 0 ? "  greedy match: true" : Inv($"  greedy match: false, first divergence at step {divergence} (reference margin there {Logits.Margin(refLogits[divergence]):G4})"));

        // 3. Perplexity. Cria's Perplexity.Run keeps its KV cache in F16, so llama.cpp does too here.
        string ppl = "";
        if (pplFile is not null)
        {
            using var pplLlama = new LlamaCppEngine(llamaModel, new LlamaCppSettings(pplCtx, Math.Max(pplCtx, 32), threads, KvCacheType.F16, FlashAttention: false, repack));
            string text = File.ReadAllText(pplFile);
            int[] tokens = pplLlama.Tokenize(text, addSpecial: true);
            int[] criaText = cria.Tokenize(text, addSpecial: true);
            int textDiff = FirstDifference(criaText, tokens);
            Console.WriteLine();
            Console.WriteLine($"perplexity: {pplFile}, {tokens.Length} tokens, ctx {pplCtx}, {(chunks > 0 ? chunks.ToString(CultureInfo.InvariantCulture) : "all")} chunks, KV cache f16");
            Console.WriteLine(textDiff < 0 ? "  tokenization of the text: match" : $"  tokenization of the text: differs from index {textDiff} (cria {criaText.Length} tokens); both engines score llama.cpp's ids");
            if (tokens.Length < 2 * pplCtx)
            {
                throw new ArgumentException($"{pplFile} is {tokens.Length} tokens; a context of {pplCtx} needs at least {2 * pplCtx}");
            }
            PerplexityResult c = Perplexity.Run(cria.Local.Model, tokens, pplCtx, cria.PerplexityBos, chunks);
            (double l, int n, int scored) = LlamaCppPerplexity.Run(pplLlama, tokens, pplCtx, pplLlama.PerplexityBos, chunks);
            double rel = Math.Abs(c.Perplexity - l) / l;
            Console.WriteLine(Inv($"  cria:      {c.Perplexity:F6} ± {c.Uncertainty:F4} ({c.Chunks} chunks, {c.ScoredTokens} scored)"));
            Console.WriteLine(Inv($"  llama.cpp: {l:F6} ({n} chunks, {scored} scored)"));
            Console.WriteLine(Inv($"  relative difference: {rel:G4}"));
            ppl = Inv($" ppl_cria={c.Perplexity:G8} ppl_llamacpp={l:G8} ppl_rel_diff={rel:G4}");
        }
        else
        {
            ppl = " ppl_cria=n/a ppl_llamacpp=n/a ppl_rel_diff=n/a";
        }

        Console.WriteLine();
        Console.WriteLine(Inv($"RESULT model={name} greedy_match={Bool(divergence < 0)} first_divergence={divergence}{ppl} tokens_match={Bool(tokensMatch)} max_abs_logit_diff={worstAbs:G4} max_rel_logit_diff={worstRel:G4}"));
        return 0;
    }

    private static int FirstDifference(int[] a, int[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }
        return a.Length == b.Length ? -1 : n;
    }

    private static string Join(int[] ids) => string.Join(' ', ids);

    private static string Bool(bool b) => b ? "true" : "false";

    private static string Escape(string s) => s.Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
