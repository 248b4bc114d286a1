using System.Globalization;

using Cria.Core.Models;
using Cria.Core.Training;
using Cria.Core.Training.Data;
using Cria.Numerics.Threading;

namespace Cria.Bench;

/// <summary>
/// train --model F [--threads 2] [--ctx 256] [--rank 8] [--targets all] [--steps 3] [--warmup 1]
/// [--activations auto|keep|recompute]: LoRA training speed — optimizer steps over windows of --ctx
/// random tokens (one window per step), after --warmup untimed steps (the JIT's tiers settle there).
/// Reports training tokens/s per step and their median, with the FLOP count of a step (forward,
/// recomputation when on, and the input gradient of every frozen matmul: 2·params·tokens each) so
/// the rate can be read as GFLOPS, the peak resident memory, and the other load on the machine.
/// </summary>
internal static class TrainMode
{
    public static int Run(Options o)
    {
        string path = o.Required("model");
        int threads = o.Int("threads", 2);
        int ctx = o.Int("ctx", 256);
        int rank = o.Int("rank", 8);
        string targets = o.String("targets") ?? "all";
        int steps = o.Int("steps", 3);
        int warmup = o.Int("warmup", 1);
        string mode = o.String("activations") ?? "auto";
        o.ThrowIfUnused();
        ActivationMode activations = mode switch
        {
            "keep" => ActivationMode.Keep,
            "recompute" => ActivationMode.Recompute,
            "auto" => ActivationMode.Auto,
            _ => throw new ArgumentException($"--activations must be auto, keep or recompute, not \"{mode}\""),
        };
        using var pool = new ComputePool(threads);
        using BaseModel model = BaseModel.Load(path, pool);
        var rng = new Random(1);
        int vocab = model.Model.VocabSize;
        var windows = Enumerable.Range(0, 4)
            .Select(_ => TrainingWindow.FromTokens([.. Enumerable.Range(0, ctx).Select(_ => rng.Next(3, vocab))]))
            .ToList();
        var data = new PackedDataset(windows, new DatasetSummary { Windows = windows.Count, Context = ctx });
        var options = new TrainingOptions
        {
            Rank = rank,
            Targets = TargetNames.Parse(targets),
            Steps = warmup + steps,
            Context = ctx,
            Activations = activations,
            Dropout = 0.05f,
        };
        var trainer = new LoraTrainer(model, data, null, options);
        ModelConfig c = model.Config;
        string type = model.Model.Weights.Layers[0].Wq.Type.ToString();
        long matmulParams = (long)c.BlockCount * (2L * c.QDim * c.EmbeddingLength + 2L * c.KvDim * c.EmbeddingLength + 3L * c.FeedForwardLength * c.EmbeddingLength)
            + (long)vocab * c.EmbeddingLength;
        double passes = trainer.Recomputes ? 3 : 2; // forward (+ recomputation) + input gradient
        double stepFlop = passes * 2.0 * matmulParams * ctx;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetFileName(path)}: {type}, {c.BlockCount} layers, dim {c.EmbeddingLength}; LoRA rank {rank} on {TargetNames.Format(options.Targets)} "
            + $"({trainer.Parameters.Count:N0} parameters); ctx {ctx}; {threads} threads; activations {(trainer.Recomputes ? "recomputed" : "kept")} "
            + $"({trainer.ActivationBytes / (1 << 20):N0} MiB); ~{stepFlop / 1e12:F2} TFLOP of matmuls per step"));
        for (int i = 0; i < warmup; i++)
        {
            StepReport r = trainer.TrainStep();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up step: {r.Elapsed.TotalSeconds:F2} s, loss {r.Loss:F4}"));
        }
        var rates = new List<double>();
        RunConditions.Snapshot conditions = RunConditions.Start();
        for (int i = 0; i < steps; i++)
        {
            StepReport r = trainer.TrainStep();
            double rate = r.Tokens / r.Elapsed.TotalSeconds;
            rates.Add(rate);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {i + 1}: {r.Elapsed.TotalSeconds:F2} s, {rate:F1} tok/s, {stepFlop / r.Elapsed.TotalSeconds / 1e9:F0} GFLOPS, loss {r.Loss:F4}"));
        }
        RunConditions load = conditions.Stop();
        MemoryUsage memory = MemoryUsage.Current();
        double median = rates.Order().ElementAt(rates.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT mode=train model={Path.GetFileName(path)} type={type} ctx={ctx} rank={rank} targets={TargetNames.Format(options.Targets)} threads={threads} "
            + $"activations={(trainer.Recomputes ? "recompute" : "keep")} tok_s={median:F1} gflops={median * stepFlop / ctx / 1e9:F0} "
            + $"peak_rss_mib={memory.PeakRss / (1 << 20)} other_load={load.OtherCores:F2}"));
        return 0;
    }
}
