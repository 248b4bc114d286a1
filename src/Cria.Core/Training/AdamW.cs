namespace Cria.Core.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019, Algorithm 2) as torch.optim.AdamW computes it: the weight
/// decays by lr·λ first (decoupled from the gradient), then m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε). Invariant: the moments line up with
/// <see cref="LoraParameters.All"/> (A then Bᵀ of each parameter) and <see cref="Step"/> counts the
/// updates applied. Element-wise, so the result does not depend on threads.
/// </summary>
public sealed class AdamW
{
    private readonly LoraParameters _parameters;

    public AdamW(LoraParameters parameters)
    {
        _parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        var m = new List<float[]>();
        var v = new List<float[]>();
        foreach (LoraParameter p in parameters.All)
        {
            m.Add(new float[p.A.Length]);
            v.Add(new float[p.A.Length]);
            m.Add(new float[p.BT.Length]);
            v.Add(new float[p.BT.Length]);
        }
        FirstMoments = m;
        SecondMoments = v;
    }

    /// <summary>Updates applied so far (t).</summary>
    public int Step { get; internal set; }

    /// <summary>m per tensor: A and Bᵀ of each parameter in order.</summary>
    public IReadOnlyList<float[]> FirstMoments { get; }

    /// <summary>v per tensor, in the order of <see cref="FirstMoments"/>.</summary>
    public IReadOnlyList<float[]> SecondMoments { get; }

    /// <summary>One update of every parameter from its gradient.</summary>
    public void Update(float lr, float beta1, float beta2, float eps, float weightDecay)
    {
        Step++;
        double bc1 = 1 - Math.Pow(beta1, Step);
        double bc2 = 1 - Math.Pow(beta2, Step);
        float stepSize = (float)(lr / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float decay = 1f - lr * weightDecay;
        int i = 0;
        foreach (LoraParameter p in _parameters.All)
        {
            Apply(p.A, p.GradA, FirstMoments[i], SecondMoments[i]);
            i++;
            Apply(p.BT, p.GradBT, FirstMoments[i], SecondMoments[i]);
            i++;
        }

        void Apply(float[] w, float[] g, float[] m, float[] v)
        {
            for (int k = 0; k < w.Length; k++)
            {
                float gk = g[k];
                m[k] = beta1 * m[k] + (1 - beta1) * gk;
                v[k] = beta2 * v[k] + (1 - beta2) * gk * gk;
                w[k] = w[k] * decay - stepSize * m[k] / (MathF.Sqrt(v[k]) / bc2Sqrt + eps);
            }
        }
    }
}

/// <summary>
/// Linear warm-up to the peak learning rate over the first <c>warmup</c> steps, then cosine decay
/// toward zero over the rest (Loshchilov &amp; Hutter 2017's SGDR curve without restarts). Steps count from 1.
/// </summary>
public static class LearningRateSchedule
{
    public static float At(int step, float peak, int warmup, int total)
    {
        if (step <= warmup)
        {
            return peak * step / Math.Max(1, warmup);
        }
        int decaySteps = Math.Max(1, total - warmup);
        double progress = (double)(step - warmup - 1) / decaySteps;
        return (float)(peak * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress))));
    }
}
