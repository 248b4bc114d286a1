using Cria.Core.Models;
using Cria.Core.Training;

namespace Cria.Core.Tests.Training;

/// <summary>AdamW against torch.optim.AdamW's update written out in double, and the learning-rate schedule.</summary>
public sealed class OptimizerTests
{
    private static readonly ModelConfig s_config = new()
    {
        Architecture = "llama",
        EmbeddingLength = 8,
        BlockCount = 1,
        FeedForwardLength = 16,
        HeadCount = 2,
        HeadCountKv = 1,
        HeadDim = 4,
        ContextLength = 16,
        RmsEpsilon = 1e-5f,
        RopeFreqBase = 10000,
        RopeDimensions = 4,
        RopeStyle = Cria.Numerics.Kernels.RopeStyle.Normal,
    };

    [Fact]
    public void AdamW_follows_torchs_update_with_decoupled_weight_decay()
    {
        LoraParameters p = LoraParameters.Create(s_config, 2, 4, [LoraTarget.V], 1);
        LoraParameter m = p.All.Single();
        var adam = new AdamW(p);
        double[] w = m.A.Select(v => (double)v).ToArray();
        var mom1 = new double[w.Length];
        var mom2 = new double[w.Length];
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        var rng = new Random(2);
        for (int step = 1; step <= 3; step++)
        {
            double[] g = w.Select(_ => rng.NextDouble() - 0.5).ToArray();
            for (int i = 0; i < g.Length; i++)
            {
                m.GradA[i] = (float)g[i];
                g[i] = m.GradA[i];
            }
            adam.Update((float)lr, (float)b1, (float)b2, (float)eps, (float)wd);
            for (int i = 0; i < w.Length; i++)
            {
                // torch.optim.AdamW: p ← p·(1 − lr·λ); m, v updated; p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
                w[i] *= 1 - lr * wd;
                mom1[i] = b1 * mom1[i] + (1 - b1) * g[i];
                mom2[i] = b2 * mom2[i] + (1 - b2) * g[i] * g[i];
                w[i] -= lr / (1 - Math.Pow(b1, step)) * mom1[i] / (Math.Sqrt(mom2[i]) / Math.Sqrt(1 - Math.Pow(b2, step)) + eps);
            }
            GradCheck.Close(w, m.A, 1e-5, $"A after step {step}");
        }
        Assert.Equal(3, adam.Step);
        Assert.All(m.BT, v => Assert.Equal(0f, v)); // B's gradient was zero and B starts at zero
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_on_a_cosine()
    {
        const float peak = 1e-3f;
        Assert.Equal(peak / 4, LearningRateSchedule.At(1, peak, 4, 20), 1e-9);
        Assert.Equal(peak, LearningRateSchedule.At(4, peak, 4, 20), 1e-9);
        Assert.Equal(peak, LearningRateSchedule.At(5, peak, 4, 20), 1e-9);       // the first step after warm-up is at the peak
        Assert.Equal(peak / 2, LearningRateSchedule.At(13, peak, 4, 20), 1e-9);  // halfway through the decay
        float last = LearningRateSchedule.At(20, peak, 4, 20);
        Assert.InRange(last, 0f, peak * 0.02f);
        Assert.True(last > 0);
        Assert.Equal(peak, LearningRateSchedule.At(1, peak, 0, 10), 1e-9);       // no warm-up
        for (int s = 5; s < 20; s++)
        {
            Assert.True(LearningRateSchedule.At(s + 1, peak, 4, 20) < LearningRateSchedule.At(s, peak, 4, 20));
        }
    }

    [Fact]
    public void LoRA_starts_as_PEFT_does_A_kaiming_uniform_and_B_zero_seeded()
    {
        LoraParameters a = LoraParameters.Create(s_config, 4, 8, Enum.GetValues<LoraTarget>(), 5);
        LoraParameters b = LoraParameters.Create(s_config, 4, 8, Enum.GetValues<LoraTarget>(), 5);
        LoraParameters c = LoraParameters.Create(s_config, 4, 8, Enum.GetValues<LoraTarget>(), 6);
        Assert.Equal(7, a.All.Count);
        Assert.Equal(2f, a.Scale);
        foreach (LoraParameter p in a.All)
        {
            double bound = 1 / Math.Sqrt(p.In);
            Assert.All(p.A, v => Assert.InRange(v, -bound, bound));
            Assert.All(p.BT, v => Assert.Equal(0f, v));
        }
        Assert.Equal(a.All[0].A, b.All[0].A);
        Assert.NotEqual(a.All[0].A, c.All[0].A);
        Assert.NotEqual(a.All[0].A, a.All[1].A);
    }
}
