namespace Cria.Core.Sampling;

/// <summary>
/// The working set of a sampler chain: token ids with logits (and probabilities once a stage
/// computed them). Allocated once per sequence for the whole vocabulary. Invariant: entries
/// [0, Count) are the live candidates; when <see cref="Sorted"/> they are in descending logit order.
/// </summary>
public sealed class Candidates
{
    public Candidates(int vocabSize)
    {
        Ids = new int[vocabSize];
        Logits = new float[vocabSize];
        Probs = new float[vocabSize];
    }

    public int[] Ids { get; }
    public float[] Logits { get; }
    public float[] Probs { get; }
    public int Count { get; set; }
    public bool Sorted { get; set; }

    /// <summary>Loads all logits as candidates.</summary>
    public void Load(ReadOnlySpan<float> logits)
    {
        if (logits.Length > Ids.Length)
        {
            throw new ArgumentException("more logits than the vocabulary");
        }
        for (int i = 0; i < logits.Length; i++)
        {
            Ids[i] = i;
        }
        logits.CopyTo(Logits);
        Count = logits.Length;
        Sorted = false;
    }

    /// <summary>Sorts the live candidates by descending logit.</summary>
    public void Sort()
    {
        if (Sorted)
        {
            return;
        }
        Array.Sort(Logits, Ids, 0, Count, DescendingComparer.Instance);
        Sorted = true;
    }

    /// <summary>Softmax over the live candidates into <see cref="Probs"/>.</summary>
    public void ComputeProbs()
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < Count; i++)
        {
            max = Math.Max(max, Logits[i]);
        }
        double sum = 0;
        for (int i = 0; i < Count; i++)
        {
            float e = MathF.Exp(Logits[i] - max);
            Probs[i] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < Count; i++)
        {
            Probs[i] *= inv;
        }
    }

    private sealed class DescendingComparer : IComparer<float>
    {
        public static readonly DescendingComparer Instance = new();

        public int Compare(float x, float y) => y.CompareTo(x);
    }
}
