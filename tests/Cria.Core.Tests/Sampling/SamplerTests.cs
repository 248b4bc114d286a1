using System.Runtime.InteropServices;

using Cria.Core.Sampling;

namespace Cria.Core.Tests.Sampling;

public sealed class SamplerTests
{
    private static Candidates Load(params float[] logits)
    {
        var c = new Candidates(logits.Length);
        c.Load(logits);
        return c;
    }

    private static int[] Live(Candidates c) => c.Ids.AsSpan(0, c.Count).ToArray();

    [Fact]
    public void Greedy_takes_the_argmax()
    {
        var s = new Sampler(5, SamplingOptions.Greedy);
        Assert.Equal(3, s.Sample([0.1f, 2f, -1f, 5f, 4.9f]));
    }

    [Fact]
    public void TopK_keeps_the_k_largest_in_order()
    {
        Candidates c = Load(0.5f, 3f, -2f, 7f, 1f, 6f);
        SamplerStages.TopK(c, 3);
        Assert.Equal([3, 5, 1], Live(c));
        Assert.True(c.Sorted);
    }

    [Fact]
    public void TopP_keeps_the_smallest_prefix_reaching_p()
    {
        // probabilities ≈ 0.665, 0.245, 0.090
        Candidates c = Load(2f, 1f, 0f);
        SamplerStages.TopP(c, 0.9f);
        Assert.Equal([0, 1], Live(c));
        Candidates d = Load(2f, 1f, 0f);
        SamplerStages.TopP(d, 0.5f);
        Assert.Equal([0], Live(d));
    }

    [Fact]
    public void MinP_drops_tokens_below_p_times_the_top_probability()
    {
        // relative to the top: e^0 = 1, e^-1 = 0.37, e^-3 = 0.05
        Candidates c = Load(0f, -1f, -3f);
        SamplerStages.MinP(c, 0.1f);
        Assert.Equal([0, 1], Live(c));
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits()
    {
        Candidates c = Load(2f, -2f, 1f);
        SamplerStages.Penalties(c, [0, 1], 2f, 0f, 0f, []);
        Assert.Equal([1f, -4f, 1f], c.Logits.AsSpan(0, 3).ToArray());
    }

    [Fact]
    public void Frequency_and_presence_penalties_follow_openai()
    {
        Candidates c = Load(1f, 1f, 1f);
        SamplerStages.Penalties(c, [0, 0, 0, 1], 1f, 0.5f, 0.25f, []);
        Assert.Equal(1f - 3 * 0.5f - 0.25f, c.Logits[0]);
        Assert.Equal(1f - 0.5f - 0.25f, c.Logits[1]);
        Assert.Equal(1f, c.Logits[2]);
    }

    [Fact]
    public void Logit_bias_can_ban_or_force_a_token()
    {
        var ban = new Sampler(3, SamplingOptions.Greedy with { LogitBias = new Dictionary<int, float> { [0] = float.NegativeInfinity } });
        Assert.Equal(2, ban.Sample([5f, 1f, 2f]));
        var force = new Sampler(3, new SamplingOptions { Seed = 1, LogitBias = new Dictionary<int, float> { [1] = 100f } });
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(1, force.Sample([5f, 1f, 2f]));
        }
    }

    [Fact]
    public void Same_seed_same_tokens_different_seed_different_tokens()
    {
        var rng = new Random(5);
        float[][] steps = Enumerable.Range(0, 50).Select(_ => Enumerable.Range(0, 100).Select(_ => (float)rng.NextDouble() * 3).ToArray()).ToArray();
        int[] Draw(ulong seed)
        {
            var s = new Sampler(100, new SamplingOptions { Seed = seed, Temperature = 1.5f, TopK = 0, TopP = 1f, MinP = 0f });
            return steps.Select(l => s.Sample(l)).ToArray();
        }
        Assert.Equal(Draw(42), Draw(42));
        Assert.NotEqual(Draw(42), Draw(43));
    }

    [Fact]
    public void Sampling_follows_the_distribution()
    {
        // softmax([ln 1, ln 3]) = [0.25, 0.75]
        var s = new Sampler(2, new SamplingOptions { Seed = 7, Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f });
        int ones = 0;
        for (int i = 0; i < 20000; i++)
        {
            ones += s.Sample([0f, MathF.Log(3f)]);
        }
        Assert.InRange(ones / 20000.0, 0.73, 0.77);
    }

    [Fact]
    public void Low_temperature_sharpens_toward_argmax()
    {
        var s = new Sampler(3, new SamplingOptions { Seed = 3, Temperature = 0.01f, TopK = 0, TopP = 1f, MinP = 0f });
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(1, s.Sample([1f, 1.5f, 0.5f]));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(1500)]
    [InlineData(-1)]
    public void Penalties_see_exactly_the_last_n_tokens(int lastN)
    {
        // The sampler against its chain run by hand over a plain list of the history, draw by draw, while the
        // window fills, passes 1,024 tokens and wraps (-1, "the whole context", keeps the last 4,096).
        const int vocab = 48;
        var options = new SamplingOptions { Seed = 11, PenaltyLastN = lastN, RepeatPenalty = 1.5f, FrequencyPenalty = 0.05f, PresencePenalty = 0.2f, Temperature = 0.7f, TopK = 0, TopP = 1f, MinP = 0f };
        var sampler = new Sampler(vocab, options);
        var rng = new Rng(11);
        var c = new Candidates(vocab);
        var history = new List<int>();
        var logitsRng = new Random(3);
        var logits = new float[vocab];
        int window = lastN < 0 ? 4096 : lastN;
        for (int step = 0; step < 9000; step++)
        {
            for (int v = 0; v < vocab; v++)
            {
                logits[v] = (float)logitsRng.NextDouble() * 4;
            }
            int token = sampler.Sample(logits);

            c.Load(logits);
            int n = Math.Min(window, history.Count);
            SamplerStages.Penalties(c, CollectionsMarshal.AsSpan(history)[^n..], options.RepeatPenalty, options.FrequencyPenalty, options.PresencePenalty, []);
            SamplerStages.TopK(c, options.TopK);
            SamplerStages.TopP(c, options.TopP);
            SamplerStages.MinP(c, options.MinP);
            SamplerStages.Temperature(c, options.Temperature);
            int expected = SamplerStages.Distribution(c, rng);
            Assert.True(expected == token, $"repeat_last_n {lastN}, step {step}: sampler drew {token}, the chain over the last {n} tokens {expected}");

            sampler.Accept(token);
            history.Add(token);
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(1500)]
    [InlineData(-1)]
    public void Sampling_with_any_penalty_window_allocates_nothing(int lastN)
    {
        const int vocab = 512;
        var sampler = new Sampler(vocab, new SamplingOptions { Seed = 5, PenaltyLastN = lastN, RepeatPenalty = 1.1f, FrequencyPenalty = 0.1f });
        var rng = new Random(9);
        float[][] steps = [.. Enumerable.Range(0, 16).Select(_ => Enumerable.Range(0, vocab).Select(_ => (float)rng.NextDouble() * 8).ToArray())];
        // A long history first (a conversation's earlier tokens), then warm up past tiered-JIT promotion,
        // whose bookkeeping allocates on the calling thread.
        for (int i = 0; i < 3000; i++)
        {
            sampler.Accept(i % vocab);
        }
        for (int i = 0; i < 300; i++)
        {
            sampler.Accept(sampler.Sample(steps[i % steps.Length]));
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 2000; i++)
        {
            sampler.Accept(sampler.Sample(steps[i % steps.Length]));
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"repeat_last_n {lastN}: 2,000 sampled tokens allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(-0.1f, 40, 0.9f, 0f)]
    [InlineData(float.NaN, 40, 0.9f, 0f)]
    [InlineData(1f, -1, 0.9f, 0f)]
    [InlineData(1f, 40, 0f, 0f)]
    [InlineData(1f, 40, 1.5f, 0f)]
    [InlineData(1f, 40, 0.9f, 2f)]
    public void Invalid_options_are_refused(float temperature, int topK, float topP, float minP) =>
        Assert.Throws<ArgumentException>(() => new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP }.Validate());
}
