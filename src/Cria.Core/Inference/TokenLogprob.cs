using System.Numerics.Tensors;

namespace Cria.Core.Inference;

/// <summary>A token and its log-probability under the model.</summary>
public readonly record struct TokenAlternative(int Token, float Logprob);

/// <summary>
/// The log-probability of a generated token and of the most likely tokens at that step. These are
/// the model's own distribution — log-softmax of the raw logits, before penalties, temperature or
/// truncation — which is what OpenAI and vLLM report by default.
/// </summary>
public sealed record TokenLogprob(int Token, float Logprob, IReadOnlyList<TokenAlternative> Top)
{
    /// <summary>Largest number of alternatives a request may ask for (OpenAI's limit).</summary>
    public const int MaxTop = 20;

    /// <summary>Log-probabilities at one step: of <paramref name="chosen"/> and of the <paramref name="top"/> most likely tokens.</summary>
    /// <param name="logits">The step's raw logits ([vocab]).</param>
    /// <param name="chosen">The token that was sampled.</param>
    /// <param name="top">How many alternatives, most likely first (0 to <see cref="MaxTop"/>).</param>
    public static TokenLogprob Compute(ReadOnlySpan<float> logits, int chosen, int top)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(top, MaxTop);
        ArgumentOutOfRangeException.ThrowIfNegative(chosen);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(chosen, logits.Length);
        // log p_i = x_i - max - log Σ exp(x_j - max): shifting by the max keeps exp in range.
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            sum += Math.Exp(logits[i] - max);
        }
        float logZ = max + (float)Math.Log(sum);
        top = Math.Min(top, logits.Length);
        var best = new TokenAlternative[top];
        int count = 0;
        for (int i = 0; i < logits.Length && top > 0; i++)
        {
            float x = logits[i];
            if (count == top && x <= best[count - 1].Logprob)
            {
                continue;
            }
            // Insertion into the sorted list of the best so far (top ≤ 20, so linear is fine); ties keep the lower id first.
            int at = count < top ? count : top - 1;
            while (at > 0 && best[at - 1].Logprob < x)
            {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = new TokenAlternative(i, x);
            count = Math.Min(count + 1, top);
        }
        for (int i = 0; i < best.Length; i++)
        {
            best[i] = best[i] with { Logprob = best[i].Logprob - logZ };
        }
        return new TokenLogprob(chosen, logits[chosen] - logZ, best);
    }
}
