using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Core.Sampling;
using Cria.Core.Synthetic;

namespace Cria.Core.Tests.Models;

/// <summary>A synthetic model with heads of 32 (whole Q8_0 blocks), F32 weights, written once.</summary>
public sealed class TinyH32Fixture : IDisposable
{
    public TinyH32Fixture()
    {
        Dir = Directory.CreateTempSubdirectory("cria-kv-").FullName;
        string path = Path.Combine(Dir, "tiny-h32-f32.gguf");
        SyntheticModel.Write("tiny-h32", "f32", 3, path, TestData.Path("llama.cpp/vocab/ggml-vocab-llama-spm.gguf"));
        Model = LocalModel.Load(path);
    }

    public string Dir { get; }

    public LocalModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>
/// The Q8_0 KV cache: logits close to an f32 cache's, the same bits in a batch as alone, prefix
/// reuse and copy-on-write on Q8_0 blocks, no allocation per decode step, and a clear refusal for
/// models whose heads are not whole blocks of 32.
/// </summary>
public sealed class KvCacheTypeTests(TinyH32Fixture fixture) : IClassFixture<TinyH32Fixture>
{
    private LlamaModel Model => fixture.Model.Model;

    private int[] Prompt(int length, int seed)
    {
        var rng = new Random(seed);
        return [1, .. Enumerable.Range(0, length - 1).Select(_ => rng.Next(3, Model.VocabSize))];
    }

    private float[] Alone(ReadOnlySpan<int> tokens, KvCacheType cacheType)
    {
        InferenceContext ctx = Model.CreateContext(256, cacheType: cacheType);
        Model.Forward(ctx, tokens);
        return (float[])ctx.Logits.Clone();
    }

    /// <summary>
    /// A 45-token prompt (a block and a half) and 20 greedy steps, all caches fed the f32 run's tokens.
    /// Q8_0 stores each value to within d/2 = amax/254 of its 32-value block (up to 0.4% of the block's
    /// largest value), so scores and mixed values move by a fraction of a percent; through two layers
    /// of this random model the logits moved by at most 0.47% of the largest logit when this was
    /// written. The bound, 1% of the largest f32 logit at every step, is about twice that: loose enough
    /// for rounding, tight enough that a wrong block scale (a factor, not a fraction of a percent)
    /// fails. An fp16 cache (11 significant bits against 8) must come out at least 4 times closer.
    /// </summary>
    [Fact]
    public void A_q8_0_cache_gives_logits_close_to_an_f32_cache()
    {
        InferenceContext f32 = Model.CreateContext(128, cacheType: KvCacheType.F32);
        InferenceContext q8 = Model.CreateContext(128, cacheType: KvCacheType.Q8_0);
        InferenceContext f16 = Model.CreateContext(128, cacheType: KvCacheType.F16);
        int[] feed = Prompt(45, 11);
        double worstQ8 = 0, worstF16 = 0;
        for (int step = 0; step <= 20; step++)
        {
            Model.Forward(f32, feed);
            Model.Forward(q8, feed);
            Model.Forward(f16, feed);
            float scale = f32.Logits.Max(MathF.Abs);
            double q8Error = f32.Logits.Zip(q8.Logits).Max(p => Math.Abs(p.First - p.Second)) / scale;
            double f16Error = f32.Logits.Zip(f16.Logits).Max(p => Math.Abs(p.First - p.Second)) / scale;
            worstQ8 = Math.Max(worstQ8, q8Error);
            worstF16 = Math.Max(worstF16, f16Error);
            Assert.True(q8Error <= 0.01, $"step {step}: max |Δ logit| is {q8Error:P3} of the largest logit");
            feed = [Array.IndexOf(f32.Logits, f32.Logits.Max())];
        }
        Assert.True(worstQ8 > 0, "the Q8_0 cache should not be exact");
        Assert.True(worstF16 * 4 <= worstQ8, $"fp16 cache: {worstF16:P4}, Q8_0: {worstQ8:P4}");
    }

    [Fact]
    public void Copy_on_write_and_prefix_reuse_work_on_q8_0_blocks()
    {
        var pool = new KvPool(Model.Config, 16, KvCacheType.Q8_0, blockSize: 16);
        Assert.Equal(2L * Model.Config.BlockCount * 16 * 16 * Model.Config.HeadCountKv * (Model.Config.HeadDim / 32 * 34), pool.Bytes);
        int[] prompt = Prompt(40, 3);
        var a = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        Model.Forward(a, prompt);
        Assert.Equal(Alone(prompt, KvCacheType.Q8_0), a.Logits);

        // b attaches a's two full blocks, then writes into the second (still a's): it gets a copy.
        var b = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        Assert.Equal(32, b.AttachCachedPrefix(prompt));
        b.Truncate(20);
        int[] other = [.. prompt[..20], .. Prompt(10, 4)[1..]];
        Model.Forward(b, other.AsSpan(20));
        Assert.Equal(Alone(other, KvCacheType.Q8_0), b.Logits);

        // A longer prompt reuses b's published blocks.
        var c = new InferenceContext(Model.Config, Model.VocabSize, 128, 64, pool);
        int[] longer = [.. other, .. Prompt(12, 5)[1..]];
        Assert.Equal(16, c.AttachCachedPrefix(longer));
        Model.Forward(c, longer.AsSpan(16));
        Assert.Equal(Alone(longer, KvCacheType.Q8_0), c.Logits);

        // a's cache is untouched: its next token sees what a private cache would.
        Model.Forward(a, [5]);
        Assert.Equal(Alone([.. prompt, 5], KvCacheType.Q8_0), a.Logits);
        a.Reset();
        b.Reset();
        c.Reset();
        Assert.Equal(0, pool.BlocksInUse);
    }

    [Fact]
    public void Decode_steps_with_a_q8_0_cache_allocate_nothing()
    {
        InferenceContext ctx = Model.CreateContext(256, cacheType: KvCacheType.Q8_0);
        var sampler = new Sampler(Model.VocabSize, new SamplingOptions { Seed = 1 });
        Model.Forward(ctx, Prompt(5, 1));
        int token = sampler.Sample(ctx.Logits);
        // Warm up past tiered-JIT promotion, whose bookkeeping allocates on the calling thread.
        for (int i = 0; i < 100; i++)
        {
            Model.Forward(ctx, [token]);
            token = sampler.Sample(ctx.Logits);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Model.Forward(ctx, [token]);
            token = sampler.Sample(ctx.Logits);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"100 decode steps allocated {allocated} bytes");
    }

    [Fact]
    public void A_q8_0_cache_is_refused_when_heads_are_not_whole_blocks()
    {
        using LocalModel stories = LocalModel.Load(RepoRoot.Path("models/stories260K.gguf"));
        var e = Assert.Throws<NotSupportedException>(() => stories.Model.CreateContext(64, cacheType: KvCacheType.Q8_0));
        Assert.Contains("head size is 8", e.Message);
        Assert.Throws<NotSupportedException>(() => new KvPool(stories.Model.Config, 4, KvCacheType.Q8_0));
    }
}
