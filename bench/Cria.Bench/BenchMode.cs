using System.Diagnostics;
using System.Globalization;

using Cria.Core.Models;
using Cria.Core.Sampling;

namespace Cria.Bench;

/// <summary>What one bench run does, for both engines alike.</summary>
internal sealed record BenchSettings(string Model, int Threads, int Prompt, int Gen, int Reps, int Batch, ulong Seed, KvCacheType Kv, bool Verbose)
{
    /// <summary>A timed run during which other processes used more CPU than this (in cores) is discarded and repeated.</summary>
    public double MaxOtherLoad { get; init; } = 0.25;

    /// <summary>False turns off llama.cpp's repacked (CPU_REPACK) weights.</summary>
    public bool LlamaRepack { get; init; } = true;

    /// <summary>Tries per measured run before a noisy one is kept (and counted as noisy).</summary>
    public const int MaxAttempts = 4;

    public int ContextLength => Prompt + Gen;

    public IEngine Open(string engine) => engine switch
    {
        "cria" => new CriaEngine(Model, Threads, ContextLength, Batch, Kv),
        "llama.cpp" => new LlamaCppEngine(Model, new LlamaCppSettings(ContextLength, Batch, Threads, Kv, FlashAttention: null, LlamaRepack)),
        _ => throw new ArgumentException($"unknown engine \"{engine}\" (cria, llama.cpp)"),
    };

    /// <summary>The prompt: <see cref="Prompt"/> token ids drawn uniformly from [3, vocab), the same for both engines.</summary>
    public int[] PromptIds(int vocab)
    {
        var rng = new Rng(Seed);
        var ids = new int[Prompt];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = 3 + (int)(rng.NextUInt64() % (ulong)(vocab - 3));
        }
        return ids;
    }
}

/// <summary>
/// Speed and memory of Cria beside llama.cpp on one GGUF file. Speed: both engines loaded in this
/// process, one warm-up run each, then <c>reps</c> runs alternating (the order flips every rep),
/// because this machine's memory bandwidth drifts within minutes and only interleaved runs are
/// comparable. Each run: prefill the prompt in one call, then greedy-decode one token at a time.
/// Memory: one child process per engine (and one that loads nothing, the .NET baseline) runs the
/// same workload once and reports its peak resident set, so neither engine's pages count against
/// the other. The build machine is shared: a run during which other processes used more than
/// --max-other-load cores is discarded and repeated (up to <see cref="BenchSettings.MaxAttempts"/>
/// tries; a run kept after that is reported as noisy).
/// </summary>
internal static class BenchMode
{
    private static readonly string[] s_engines = ["cria", "llama.cpp"];

    public static int Run(Options o)
    {
        var s = new BenchSettings(
            o.Required("model"), Math.Max(1, o.Int("threads", 2)), Math.Max(1, o.Int("prompt", 512)), Math.Max(1, o.Int("gen", 128)),
            Math.Max(1, o.Int("reps", 3)), Math.Max(1, o.Int("batch", 512)), o.ULong("seed", 1), KvOption.Parse(o, KvCacheType.F16), o.Flag("verbose"));
        bool measureMemory = !o.Flag("no-memory");
        s = s with { LlamaRepack = !o.Flag("llama-no-repack") };
        string? maxOther = o.String("max-other-load");
        if (maxOther is not null)
        {
            s = s with { MaxOtherLoad = double.Parse(maxOther, CultureInfo.InvariantCulture) };
        }
        o.ThrowIfUnused();
        LlamaCppEngine.ConfigureLogging(s.Verbose);
        string name = Path.GetFileNameWithoutExtension(s.Model);
        long fileBytes = new FileInfo(s.Model).Length;
        Console.WriteLine(Inv($"bench: {s.Model} ({fileBytes / (1024.0 * 1024.0):F1} MiB), threads {s.Threads}, prompt {s.Prompt}, gen {s.Gen}, reps {s.Reps}, batch {s.Batch}, KV cache {KvOption.Name(s.Kv)} (both){(s.LlamaRepack ? "" : ", llama.cpp repacking off")}"));

        var memory = new Dictionary<string, MemoryUsage>();
        if (measureMemory)
        {
            foreach (string engine in (string[])["none", .. s_engines])
            {
                Console.Write($"memory: {engine} in a child process ... ");
                MemoryUsage m = MeasureInChild(engine, s);
                memory[engine] = m;
                Console.WriteLine(Inv($"peak RSS {MiB(m.PeakRss)} MiB (now anon {MiB(m.RssAnon)}, file {MiB(m.RssFile)})"));
            }
        }

        var prefill = new Dictionary<string, List<double>>();
        var decode = new Dictionary<string, List<double>>();
        var engines = new Dictionary<string, IEngine>();
        int discarded = 0, noisy = 0;
        try
        {
            foreach (string engine in s_engines)
            {
                engines[engine] = s.Open(engine);
                prefill[engine] = [];
                decode[engine] = [];
            }
            int vocab = Math.Min(engines["cria"].VocabSize, engines["llama.cpp"].VocabSize);
            int[] prompt = s.PromptIds(vocab);
            foreach (string engine in s_engines)
            {
                Console.Write($"warm-up: {engine} ... ");
                (double p, double d, RunConditions c) = RunOnce(engines[engine], prompt, s.Gen);
                Console.WriteLine(Inv($"prompt {p:F1} tok/s, decode {d:F1} tok/s {c}"));
                Pause();
            }
            for (int r = 0; r < s.Reps; r++)
            {
                foreach (string engine in r % 2 == 0 ? s_engines : [.. s_engines.Reverse()])
                {
                    for (int attempt = 1; ; attempt++)
                    {
                        (double p, double d, RunConditions c) = RunOnce(engines[engine], prompt, s.Gen);
                        bool quiet = !(c.OtherCores > s.MaxOtherLoad);
                        if (!quiet && attempt < BenchSettings.MaxAttempts)
                        {
                            discarded++;
                            Console.WriteLine(Inv($"rep {r + 1}: {engine,-9} discarded {c}"));
                            Thread.Sleep(5000);
                            continue;
                        }
                        noisy += quiet ? 0 : 1;
                        prefill[engine].Add(p);
                        decode[engine].Add(d);
                        Console.WriteLine(Inv($"rep {r + 1}: {engine,-9} prompt {p,8:F1} tok/s   decode {d,7:F2} tok/s   {c}{(quiet ? "" : " NOISY")}"));
                        Pause();
                        break;
                    }
                }
            }
        }
        finally
        {
            foreach (IEngine e in engines.Values)
            {
                e.Dispose();
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| engine | prompt tok/s (median, min–max) | decode tok/s (median, min–max) | decode GB/s (file × tok/s) | peak RSS MiB |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (string engine in s_engines)
        {
            double dm = Median(decode[engine]);
            string rss = memory.TryGetValue(engine, out MemoryUsage? m) ? MiB(m.PeakRss) : "n/a";
            Console.WriteLine(Inv($"| {engine} | {Median(prefill[engine]):F1} ({prefill[engine].Min():F1}–{prefill[engine].Max():F1}) | {dm:F2} ({decode[engine].Min():F2}–{decode[engine].Max():F2}) | {fileBytes * dm / 1e9:F1} | {rss} |"));
        }
        Console.WriteLine(Inv($"({discarded} runs discarded and repeated because other processes used more than {s.MaxOtherLoad} cores; {noisy} noisy runs kept)"));
        if (memory.TryGetValue("none", out MemoryUsage? baseline))
        {
            Console.WriteLine(Inv($"(a child that loads no model peaks at {MiB(baseline.PeakRss)} MiB: the .NET host both engines run in)"));
        }
        double prefillRatio = Median(prefill["cria"]) / Median(prefill["llama.cpp"]);
        double decodeRatio = Median(decode["cria"]) / Median(decode["llama.cpp"]);
        string memoryRatio = memory.Count > 0 ? Inv($"{(double)memory["cria"].PeakRss / memory["llama.cpp"].PeakRss:F3}") : "n/a";
        Console.WriteLine();
        Console.WriteLine(Inv($"RESULT model={name} prefill_ratio={prefillRatio:F3} decode_ratio={decodeRatio:F3} memory_ratio={memoryRatio}"));
        return 0;
    }

    /// <summary>The child side of the memory measurement: load one engine, run the workload once, print <see cref="MemoryUsage"/>.</summary>
    public static int RunMemoryChild(Options o)
    {
        string engine = o.Required("engine");
        var s = new BenchSettings(
            o.Required("model"), o.Int("threads", 2), o.Int("prompt", 512), o.Int("gen", 128), 1, o.Int("batch", 512), o.ULong("seed", 1), KvOption.Parse(o, KvCacheType.F16), o.Flag("verbose"))
        {
            LlamaRepack = !o.Flag("llama-no-repack"),
        };
        o.ThrowIfUnused();
        LlamaCppEngine.ConfigureLogging(s.Verbose);
        if (engine != "none")
        {
            using IEngine e = s.Open(engine);
            RunOnce(e, s.PromptIds(e.VocabSize), s.Gen);
            Console.WriteLine(MemoryUsage.Current().ToLine());
        }
        else
        {
            Console.WriteLine(MemoryUsage.Current().ToLine());
        }
        return 0;
    }

    /// <summary>One run: prefill <paramref name="prompt"/> in one call, then <paramref name="gen"/> single-token greedy steps. Returns tokens/s of each phase.</summary>
    private static (double Prefill, double Decode, RunConditions Conditions) RunOnce(IEngine e, int[] prompt, int gen)
    {
        e.Reset();
        RunConditions.Snapshot before = RunConditions.Start();
        var clock = Stopwatch.StartNew();
        int next = Logits.Argmax(e.Feed(prompt));
        double prefill = clock.Elapsed.TotalSeconds;
        clock.Restart();
        for (int i = 0; i < gen; i++)
        {
            next = Logits.Argmax(e.Feed([next]));
        }
        double decode = clock.Elapsed.TotalSeconds;
        return (prompt.Length / prefill, gen / decode, before.Stop());
    }

    private static MemoryUsage MeasureInChild(string engine, BenchSettings s)
    {
        var psi = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath ?? "dotnet",
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(psi.FileName) == "dotnet")
        {
            psi.ArgumentList.Add(typeof(BenchMode).Assembly.Location);
        }
        foreach (string a in (string[])["memory", "--engine", engine, "--model", s.Model,
            "--threads", Str(s.Threads), "--prompt", Str(s.Prompt), "--gen", Str(s.Gen), "--batch", Str(s.Batch), "--seed", Str(s.Seed), "--kv", KvOption.Name(s.Kv)])
        {
            psi.ArgumentList.Add(a);
        }
        if (!s.LlamaRepack)
        {
            psi.ArgumentList.Add("--llama-no-repack");
        }
        using Process child = Process.Start(psi) ?? throw new InvalidOperationException("could not start the memory child process");
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"memory child for {engine} exited with {child.ExitCode}: {output}");
        }
        return MemoryUsage.Parse(output) ?? throw new InvalidOperationException($"memory child for {engine} printed no MEMORY line: {output}");
    }

    /// <summary>Lets the other engine's worker threads finish spinning and park before the next run.</summary>
    private static void Pause() => Thread.Sleep(250);

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    private static string MiB(long bytes) => bytes < 0 ? "n/a" : (bytes / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture);

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Str(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
