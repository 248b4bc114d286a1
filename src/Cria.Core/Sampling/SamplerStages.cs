using Cria.Grammar;

namespace Cria.Core.Sampling;

/// <summary>
/// The sampler stages, each a small pure function over <see cref="Candidates"/> (as llama.cpp's
/// llama-sampling.cpp and Ollama's sample/samplers.go split them).
/// </summary>
public static class SamplerStages
{
    /// <summary>Adds a bias to chosen logits (OpenAI logit_bias; −∞ bans a token).</summary>
    public static void LogitBias(Candidates c, IReadOnlyDictionary<int, float> bias)
    {
        foreach ((int id, float b) in bias)
        {
            if ((uint)id < (uint)c.Count && c.Ids[id] == id)
            {
                c.Logits[id] += b;
            }
        }
    }

    /// <summary>
    /// Repetition penalty (Keskar et al. 2019, CTRL: divide positive logits, multiply negative ones)
    /// and OpenAI's frequency/presence penalties: logit −= count·frequency + (count&gt;0)·presence,
    /// over the last tokens. Must run before any stage that reorders candidates.
    /// </summary>
    public static void Penalties(Candidates c, ReadOnlySpan<int> recent, float repeat, float frequency, float presence, Dictionary<int, int> counts)
    {
        if (recent.IsEmpty || (repeat == 1f && frequency == 0f && presence == 0f))
        {
            return;
        }
        counts.Clear();
        foreach (int id in recent)
        {
            counts[id] = counts.TryGetValue(id, out int n) ? n + 1 : 1;
        }
        foreach ((int id, int count) in counts)
        {
            if ((uint)id >= (uint)c.Count || c.Ids[id] != id)
            {
                continue;
            }
            float l = c.Logits[id];
            l = l <= 0 ? l * repeat : l / repeat;
            l -= count * frequency + presence;
            c.Logits[id] = l;
        }
    }

    /// <summary>
    /// Keeps only the candidates <paramref name="grammar"/> allows, and no candidate whose logit is −∞ (a draw
    /// must never land on one). Runs while candidates are still in id order (before any stage that sorts).
    /// </summary>
    /// <exception cref="GrammarException">No allowed token has a finite logit.</exception>
    public static void Grammar(Candidates c, GrammarMatcher grammar)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        grammar.Mask(c.Logits.AsSpan(0, c.Count));
        int n = 0;
        for (int i = 0; i < c.Count; i++)
        {
            if (!float.IsNegativeInfinity(c.Logits[i]))
            {
                c.Ids[n] = c.Ids[i];
                c.Logits[n] = c.Logits[i];
                n++;
            }
        }
        if (n == 0)
        {
            throw new GrammarException("no token the grammar allows has a finite logit (all were banned)");
        }
        c.Count = n;
    }

    /// <summary>Keeps the k most likely candidates, sorted.</summary>
    public static void TopK(Candidates c, int k)
    {
        if (k <= 0 || k >= c.Count)
        {
            return;
        }
        if (!c.Sorted)
        {
            // Selection first: move the k largest to the front with a min-heap, then sort just those.
            SelectTopK(c, k);
        }
        c.Count = k;
        c.Sorted = false;
        c.Sort();
    }

    /// <summary>Nucleus sampling (Holtzman et al. 2019): the smallest prefix whose probability reaches p.</summary>
    public static void TopP(Candidates c, float p, int minKeep = 1)
    {
        if (p >= 1f)
        {
            return;
        }
        c.Sort();
        c.ComputeProbs();
        float cum = 0f;
        for (int i = 0; i < c.Count; i++)
        {
            cum += c.Probs[i];
            if (cum >= p && i + 1 >= minKeep)
            {
                c.Count = i + 1;
                return;
            }
        }
    }

    /// <summary>Min-p (Nguyen et al. 2024): drop candidates whose probability is below p × the top one's.</summary>
    public static void MinP(Candidates c, float p, int minKeep = 1)
    {
        if (p <= 0f || c.Count == 0)
        {
            return;
        }
        c.Sort();
        // p_i ≥ p·p_max  ⇔  logit_i ≥ logit_max + ln p
        float threshold = c.Logits[0] + MathF.Log(p);
        int keep = c.Count;
        for (int i = 1; i < c.Count; i++)
        {
            if (c.Logits[i] < threshold)
            {
                keep = i;
                break;
            }
        }
        c.Count = Math.Max(keep, Math.Min(minKeep, c.Count));
    }

    public static void Temperature(Candidates c, float t)
    {
        float inv = 1f / t;
        for (int i = 0; i < c.Count; i++)
        {
            c.Logits[i] *= inv;
        }
    }

    /// <summary>The id with the largest logit (the first of equal ones).</summary>
    public static int Greedy(Candidates c)
    {
        int best = 0;
        for (int i = 1; i < c.Count; i++)
        {
            if (c.Logits[i] > c.Logits[best])
            {
                best = i;
            }
        }
        return c.Ids[best];
    }

    /// <summary>Draws from the softmax of the live candidates.</summary>
    public static int Distribution(Candidates c, Rng rng)
    {
        c.ComputeProbs();
        double r = rng.NextDouble();
        double cum = 0;
        for (int i = 0; i < c.Count; i++)
        {
            cum += c.Probs[i];
            if (r < cum)
            {
                return c.Ids[i];
            }
        }
        return c.Ids[c.Count - 1];
    }

    private static void SelectTopK(Candidates c, int k)
    {
        // Min-heap of the best k over positions [0, k); then sift each remaining candidate in.
        int[] ids = c.Ids;
        float[] l = c.Logits;
        for (int i = k / 2 - 1; i >= 0; i--)
        {
            SiftDown(l, ids, i, k);
        }
        for (int i = k; i < c.Count; i++)
        {
            if (l[i] > l[0])
            {
                (l[0], l[i]) = (l[i], l[0]);
                (ids[0], ids[i]) = (ids[i], ids[0]);
                SiftDown(l, ids, 0, k);
            }
        }
    }

    private static void SiftDown(float[] l, int[] ids, int i, int n)
    {
        while (true)
        {
            int smallest = i;
            int a = 2 * i + 1;
            int b = a + 1;
            if (a < n && l[a] < l[smallest])
            {
                smallest = a;
            }
            if (b < n && l[b] < l[smallest])
            {
                smallest = b;
            }
            if (smallest == i)
            {
                return;
            }
            (l[i], l[smallest]) = (l[smallest], l[i]);
            (ids[i], ids[smallest]) = (ids[smallest], ids[i]);
            i = smallest;
        }
    }
}
