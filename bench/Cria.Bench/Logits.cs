namespace Cria.Bench;

/// <summary>Small pure functions over one row of logits, shared by both engines' results.</summary>
internal static class Logits
{
    /// <summary>Index of the largest logit; the lowest index wins a tie. NaN never wins.</summary>
    public static int Argmax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
        {
            if (row[i] > row[best])
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>Top-1 minus top-2 logit: how close a greedy choice is to a tie.</summary>
    public static float Margin(ReadOnlySpan<float> row)
    {
        float a = float.NegativeInfinity, b = float.NegativeInfinity;
        foreach (float v in row)
        {
            if (v > a)
            {
                b = a;
                a = v;
            }
            else if (v > b)
            {
                b = v;
            }
        }
        return a - b;
    }

    /// <summary>How many logits are larger than row[token] (0 = it is the argmax).</summary>
    public static int Rank(ReadOnlySpan<float> row, int token)
    {
        int rank = 0;
        float v = row[token];
        foreach (float x in row)
        {
            if (x > v)
            {
                rank++;
            }
        }
        return rank;
    }

    /// <summary>max |a − b| and that divided by max |reference|.</summary>
    public static (double MaxAbs, double MaxRel) Difference(ReadOnlySpan<float> a, ReadOnlySpan<float> reference)
    {
        if (a.Length != reference.Length)
        {
            throw new ArgumentException($"logit rows of {a.Length} and {reference.Length} values cannot be compared");
        }
        double maxAbs = 0, scale = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - reference[i]);
            if (!(d <= maxAbs))
            {
                maxAbs = d; // NaN propagates
            }
            scale = Math.Max(scale, Math.Abs(reference[i]));
        }
        return (maxAbs, scale > 0 ? maxAbs / scale : maxAbs);
    }

    /// <summary>−log softmax(row)[target] in double, with the max subtracted (the NLL of one prediction).</summary>
    public static double Nll(ReadOnlySpan<float> row, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float v in row)
        {
            max = Math.Max(max, v);
        }
        double sum = 0;
        foreach (float v in row)
        {
            sum += Math.Exp(v - max);
        }
        return -(row[target] - max - Math.Log(sum));
    }
}
