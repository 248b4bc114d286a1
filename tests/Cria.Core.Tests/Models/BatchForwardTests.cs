using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Core.Synthetic;
using Cria.Numerics.Threading;

namespace Cria.Core.Tests.Models;

/// <summary>
/// Continuous batching: several sequences at different positions in one forward pass give each the
/// logits, bit for bit, it gets alone — for float and for tiled quantized weights, and for each KV
/// cache type (Q8_0 on a model whose heads are whole blocks of 32).
/// </summary>
public sealed class BatchForwardTests
{
    public static TheoryData<string, string, KvCacheType> Mixes => new()
    {
        { "tiny", "f32", KvCacheType.F16 },
        { "tiny", "f16", KvCacheType.F16 },
        { "tiny", "q8_0", KvCacheType.F16 },
        { "tiny", "q4_0", KvCacheType.F16 },
        { "tiny", "f16", KvCacheType.F32 },
        { "tiny-h32", "f32", KvCacheType.Q8_0 },
        { "tiny-h32", "q4_0", KvCacheType.Q8_0 },
    };

    [Theory]
    [MemberData(nameof(Mixes))]
    public void Mixed_batch_of_prefill_chunks_and_decode_tokens_matches_each_sequence_alone(string shape, string mix, KvCacheType cacheType)
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-batch-{shape}-{mix}-{Guid.NewGuid():N}.gguf");
        try
        {
            SyntheticModel.Write(shape, mix, 11, path, TestData.Path("llama.cpp/vocab/ggml-vocab-llama-spm.gguf"));
            using var pool = new ComputePool(2);
            using LocalModel local = LocalModel.Load(path, pool);
            LlamaModel model = local.Model;
            var rng = new Random(5);
            int[][] prompts = [.. Enumerable.Range(0, 4).Select(i => Enumerable.Range(0, 3 + i * 5).Select(_ => rng.Next(3, model.VocabSize)).ToArray())];

            // Reference: each sequence alone, prompt then three decode tokens.
            var expected = new List<float[]>[prompts.Length];
            for (int s = 0; s < prompts.Length; s++)
            {
                InferenceContext ctx = model.CreateContext(64, cacheType: cacheType);
                expected[s] = [];
                model.Forward(ctx, prompts[s]);
                expected[s].Add((float[])ctx.Logits.Clone());
                for (int step = 0; step < 3; step++)
                {
                    model.Forward(ctx, [100 + s + step]);
                    expected[s].Add((float[])ctx.Logits.Clone());
                }
            }

            // Batched: step 0 holds every prompt whole; sequences then decode together, with
            // sequence 3 joining a step late (its prompt arrives while the others decode).
            InferenceContext[] contexts = [.. prompts.Select(_ => model.CreateContext(64, cacheType: cacheType))];
            var workspace = new BatchWorkspace(model, 64, 4);
            var got = prompts.Select(_ => new List<float[]>()).ToArray();
            for (int step = 0; step < 5; step++)
            {
                var tokens = new List<int>();
                var chunks = new List<SequenceChunk>();
                for (int s = 0; s < prompts.Length; s++)
                {
                    int local0 = s == 3 ? step - 1 : step;   // sequence 3 starts one step later
                    if (local0 < 0 || local0 > 3)
                    {
                        continue;
                    }
                    int[] feed = local0 == 0 ? prompts[s] : [100 + s + local0 - 1];
                    chunks.Add(new SequenceChunk(contexts[s], tokens.Count, feed.Length));
                    tokens.AddRange(feed);
                }
                model.ForwardBatch(workspace, tokens.ToArray(), chunks.ToArray());
                foreach (SequenceChunk chunk in chunks)
                {
                    int s = Array.IndexOf(contexts, chunk.Context);
                    got[s].Add((float[])chunk.Context.Logits.Clone());
                }
            }
            for (int s = 0; s < prompts.Length; s++)
            {
                Assert.Equal(expected[s].Count, got[s].Count);
                for (int i = 0; i < expected[s].Count; i++)
                {
                    Assert.Equal(expected[s][i], got[s][i]);
                }
                Assert.Equal([.. prompts[s], 100 + s, 101 + s, 102 + s], contexts[s].History);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Bad_batches_are_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-batch-bad-{Guid.NewGuid():N}.gguf");
        try
        {
            SyntheticModel.Write("tiny", "f32", 1, path, TestData.Path("llama.cpp/vocab/ggml-vocab-llama-spm.gguf"));
            using LocalModel local = LocalModel.Load(path);
            LlamaModel model = local.Model;
            var ws = new BatchWorkspace(model, 8, 2);
            InferenceContext a = model.CreateContext(4);
            InferenceContext b = model.CreateContext(16);
            Assert.Throws<ArgumentException>(() => model.ForwardBatch(ws, [1, 2], [new SequenceChunk(a, 0, 1), new SequenceChunk(a, 1, 1)]));
            Assert.Throws<ArgumentException>(() => model.ForwardBatch(ws, [1, 2], [new SequenceChunk(a, 0, 1)]));
            Assert.Throws<ArgumentException>(() => model.ForwardBatch(ws, [1, 2, 3, 4, 5], [new SequenceChunk(a, 0, 5)]));
            Assert.Throws<ArgumentException>(() => model.ForwardBatch(ws, new int[9], [new SequenceChunk(b, 0, 9)]));
            Assert.Throws<ArgumentOutOfRangeException>(() => model.ForwardBatch(ws, [1, -1], [new SequenceChunk(a, 0, 1), new SequenceChunk(b, 1, 1)]));
            Assert.Equal(0, a.Position);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
