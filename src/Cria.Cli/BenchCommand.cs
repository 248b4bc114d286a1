using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Cli;

/// <summary><c>cria bench</c>: Cria's own prefill and decode speed on a model (the side-by-side comparison with llama.cpp lives in bench/Cria.Bench).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var prompt = new Option<int>("--prompt", "-p") { Description = "prompt tokens to prefill", DefaultValueFactory = _ => 512 };
        var gen = new Option<int>("--gen", "-n") { Description = "tokens to decode", DefaultValueFactory = _ => 128 };
        var reps = new Option<int>("--reps", "-r") { Description = "repetitions (median reported)", DefaultValueFactory = _ => 3 };
        var threads = CommonOptions.Threads();
        var kvType = CommonOptions.KvType();
        var cmd = new Command("bench", "Measure prompt (prefill) and decode speed in tokens/s on random token ids.") { model, prompt, gen, reps, threads, kvType };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            int np = p.GetValue(prompt), ng = p.GetValue(gen), nr = p.GetValue(reps);
            if (np < 1 || ng < 1 || nr < 1)
            {
                throw new UserException("--prompt, --gen and --reps must be at least 1");
            }
            KvCacheType cacheType = CommonOptions.ParseKvType(p.GetValue(kvType));
            var load = Stopwatch.StartNew();
            using LocalModel lm = CommonOptions.Load(p.GetValue(model), p.GetValue(threads));
            double loadMs = load.Elapsed.TotalMilliseconds;
            LlamaModel m = lm.Model;
            if (np + ng > m.Config.ContextLength)
            {
                throw new UserException($"--prompt {np} + --gen {ng} exceed the model's context of {m.Config.ContextLength}");
            }
            InferenceContext ctx = m.CreateContext(np + ng, maxBatch: Math.Min(np, 512), cacheType: cacheType);
            var rng = new Random(1);
            int[] tokens = new int[np];
            for (int i = 0; i < np; i++)
            {
                tokens[i] = rng.Next(m.VocabSize);
            }
            // Warm-up: a short prefill and a few decode steps, so the JIT has tiered up.
            m.Forward(ctx, tokens.AsSpan(0, Math.Min(np, 16)));
            for (int i = 0; i < 4; i++)
            {
                m.Forward(ctx, [tokens[i]]);
            }
            var prefill = new List<double>();
            var decode = new List<double>();
            for (int r = 0; r < nr; r++)
            {
                ctx.Reset();
                var sw = Stopwatch.StartNew();
                m.Forward(ctx, tokens);
                prefill.Add(np / sw.Elapsed.TotalSeconds);
                sw.Restart();
                int next = tokens[^1];
                for (int i = 0; i < ng; i++)
                {
                    m.Forward(ctx, [next]);
                    next = ArgMax(ctx.Logits);
                }
                decode.Add(ng / sw.Elapsed.TotalSeconds);
            }
            var inv = CultureInfo.InvariantCulture;
            Console.Out.WriteLine(string.Create(inv, $"model: {Path.GetFileName(lm.FilePath)}  threads: {m.Pool.ThreadCount}  KV cache: {cacheType.ToString().ToLowerInvariant()}  load: {loadMs:F0} ms  peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20)} MiB"));
            Console.Out.WriteLine(string.Create(inv, $"prefill {np} tokens: {Median(prefill):F1} tok/s (min {prefill.Min():F1}, max {prefill.Max():F1})"));
            Console.Out.WriteLine(string.Create(inv, $"decode {ng} tokens:  {Median(decode):F1} tok/s (min {decode.Min():F1}, max {decode.Max():F1})"));
            return 0;
        }));
        return cmd;
    }

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best])
            {
                best = i;
            }
        }
        return best;
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
