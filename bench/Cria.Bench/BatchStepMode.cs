using System.Diagnostics;
using System.Globalization;

using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Numerics.Threading;

namespace Cria.Bench;

/// <summary>
/// batchstep --model F [--threads 2] [--steps 20] [--context 64]: the engine's decode step alone —
/// ms per step of ForwardBatch with 1, 2, 4, 8, 16 sequences (one token each, at --context tokens of
/// history), beside one sequence's n-token prefill chunk, so batching overheads show apart from HTTP.
/// </summary>
internal static class BatchStepMode
{
    public static int Run(Options o)
    {
        string path = o.Required("model");
        int threads = o.Int("threads", 2);
        int steps = o.Int("steps", 20);
        int history = o.Int("context", 64);
        o.ThrowIfUnused();
        using var pool = new ComputePool(threads);
        using LocalModel local = LocalModel.Load(path, pool);
        LlamaModel model = local.Model;
        Console.WriteLine("| sequences | ms per batched decode step | tok/s | ms per prefill chunk of n | prefill tok/s |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (int n in new[] { 1, 2, 4, 8, 16 })
        {
            var contexts = Enumerable.Range(0, n).Select(_ => model.CreateContext(history + steps + 8)).ToArray();
            foreach (InferenceContext ctx in contexts)
            {
                model.Forward(ctx, Enumerable.Range(10, history).ToArray());
            }
            var ws = new BatchWorkspace(model, 128, 16);
            int[] tokens = Enumerable.Range(100, n).ToArray();
            SequenceChunk[] chunks = [.. contexts.Select((c, i) => new SequenceChunk(c, i, 1))];
            model.ForwardBatch(ws, tokens, chunks); // warm-up
            var clock = Stopwatch.StartNew();
            for (int s = 0; s < steps; s++)
            {
                model.ForwardBatch(ws, tokens, chunks);
            }
            double stepMs = clock.Elapsed.TotalMilliseconds / steps;

            InferenceContext one = model.CreateContext(history + n * (steps + 2));
            model.Forward(one, Enumerable.Range(10, history).ToArray());
            model.Forward(one, tokens);
            clock.Restart();
            for (int s = 0; s < steps; s++)
            {
                model.Forward(one, tokens);
            }
            double prefillMs = clock.Elapsed.TotalMilliseconds / steps;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {n} | {stepMs:F1} | {n * 1000 / stepMs:F1} | {prefillMs:F1} | {n * 1000 / prefillMs:F1} |"));
        }
        return 0;
    }
}
