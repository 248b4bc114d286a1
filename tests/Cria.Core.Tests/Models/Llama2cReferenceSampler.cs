namespace Cria.Core.Tests.Models;

/// <summary>
/// karpathy/llama2.c run.c's sampler, re-implemented from its description so the golden sampled
/// story (expected-outputs.json) can be reproduced from our logits: xorshift64* RNG,
/// random_f32 = (u32 &gt;&gt; 8) / 2^24, float softmax, top-p over the candidates with
/// p ≥ (1 − topp)/(n − 1) sorted by descending probability.
/// </summary>
internal sealed class Llama2cReferenceSampler(ulong seed, float temperature, float topp)
{
    private ulong _state = seed;

    private uint NextU32()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return (uint)((_state * 0x2545F4914F6CDD1DUL) >> 32);
    }

    private float NextF32() => (NextU32() >> 8) / 16777216.0f;

    public int Sample(float[] logitsIn)
    {
        float[] p = (float[])logitsIn.Clone();
        if (temperature == 0f)
        {
            int best = 0;
            for (int i = 1; i < p.Length; i++)
            {
                if (p[i] > p[best])
                {
                    best = i;
                }
            }
            return best;
        }
        for (int i = 0; i < p.Length; i++)
        {
            p[i] /= temperature;
        }
        float max = p.Max();
        float sum = 0f;
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = MathF.Exp(p[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.Length; i++)
        {
            p[i] /= sum;
        }
        float coin = NextF32();
        float cutoff = (1.0f - topp) / (p.Length - 1);
        var candidates = new List<(int Index, float Prob)>();
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] >= cutoff)
            {
                candidates.Add((i, p[i]));
            }
        }
        candidates.Sort((a, b) => b.Prob.CompareTo(a.Prob));
        float cumulative = 0f;
        int last = candidates.Count - 1;
        for (int i = 0; i < candidates.Count; i++)
        {
            cumulative += candidates[i].Prob;
            if (cumulative > topp)
            {
                last = i;
                break;
            }
        }
        float r = coin * cumulative;
        float cdf = 0f;
        for (int i = 0; i <= last; i++)
        {
            cdf += candidates[i].Prob;
            if (r < cdf)
            {
                return candidates[i].Index;
            }
        }
        return candidates[last].Index;
    }
}
