namespace Cria.Core.Training;

/// <summary>
/// One packed context window: the tokens of one or more examples, what each position must predict,
/// and where each position's example starts (attention and RoPE positions restart there, so packed
/// examples do not see each other). Invariant: all arrays have <see cref="Length"/> entries;
/// SegmentStart[t] ≤ t and is non-decreasing; Targets[t] is −1 (no loss) or the next token of the
/// same example.
/// </summary>
public sealed class TrainingWindow
{
    public TrainingWindow(int[] tokens, int[] targets, int[] segmentStart)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(segmentStart);
        if (tokens.Length == 0 || targets.Length != tokens.Length || segmentStart.Length != tokens.Length)
        {
            throw new ArgumentException("a window needs at least one token, and one target and one segment start per token");
        }
        for (int t = 0; t < tokens.Length; t++)
        {
            if (segmentStart[t] < 0 || segmentStart[t] > t || (t > 0 && segmentStart[t] < segmentStart[t - 1]))
            {
                throw new ArgumentException($"segment start {segmentStart[t]} at position {t} is invalid", nameof(segmentStart));
            }
            if (targets[t] < -1)
            {
                throw new ArgumentException($"target {targets[t]} at position {t} is invalid", nameof(targets));
            }
        }
        Tokens = tokens;
        Targets = targets;
        SegmentStart = segmentStart;
        TrainableCount = targets.Count(x => x >= 0);
    }

    /// <summary>Token ids [Length].</summary>
    public int[] Tokens { get; }

    /// <summary>The token each position must predict, or −1 [Length].</summary>
    public int[] Targets { get; }

    /// <summary>The index of the first token of each position's example [Length].</summary>
    public int[] SegmentStart { get; }

    public int Length => Tokens.Length;

    /// <summary>Positions with a target (the tokens the loss counts).</summary>
    public int TrainableCount { get; }

    /// <summary>A window of one example: every position predicts the next token.</summary>
    public static TrainingWindow FromTokens(int[] tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var targets = new int[tokens.Length];
        for (int t = 0; t < tokens.Length; t++)
        {
            targets[t] = t + 1 < tokens.Length ? tokens[t + 1] : -1;
        }
        return new TrainingWindow(tokens, targets, new int[tokens.Length]);
    }
}
