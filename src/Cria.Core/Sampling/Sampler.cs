using Cria.Grammar;

namespace Cria.Core.Sampling;

/// <summary>
/// A sampler chain in llama.cpp's default order: logit bias → penalties → grammar → top-k → top-p → min-p →
/// temperature → draw (or argmax when the temperature is 0). Holds its scratch for one sequence, so
/// sampling a token allocates nothing, whatever the penalty window. Not thread-safe: one sampler per sequence.
/// </summary>
/// <remarks>
/// Invariant: the penalty window is a mirrored ring of capacity W (<c>_capacity</c>) in
/// <c>_recent</c> ([2W]): slot k and slot k + W hold the same token, so the last n ≤ W tokens,
/// oldest first, are always the contiguous span [_recentHead + W − n, _recentHead + W) and need no copy.
/// </remarks>
public sealed class Sampler
{
    private readonly Candidates _candidates;
    private readonly Dictionary<int, int> _counts;
    private readonly int _capacity;
    private readonly int[] _recent; // [2 * _capacity]: the ring, written twice
    private int _recentCount;
    private int _recentHead; // next slot to write, in [0, _capacity)

    public Sampler(int vocabSize, SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _candidates = new Candidates(vocabSize);
        // -1 ("the whole context") keeps the last 4,096 tokens.
        _capacity = options.PenaltyLastN switch { > 0 => options.PenaltyLastN, < 0 => 4096, _ => 1 };
        _recent = new int[2 * _capacity];
        // Sized for the most distinct tokens a window can hold, so counting them never grows it.
        _counts = new Dictionary<int, int>(Math.Min(_capacity, vocabSize));
        Rng = new Rng(options.Seed ?? (ulong)Random.Shared.NextInt64());
    }

    public SamplingOptions Options { get; }

    public Rng Rng { get; }

    /// <summary>Records a token (prompt or generated) for the penalty window.</summary>
    public void Accept(int token)
    {
        _recent[_recentHead] = token;
        _recent[_recentHead + _capacity] = token;
        _recentHead = _recentHead + 1 == _capacity ? 0 : _recentHead + 1;
        _recentCount = Math.Min(_recentCount + 1, _capacity);
    }

    /// <summary>Forgets the penalty window.</summary>
    public void Reset()
    {
        _recentCount = 0;
        _recentHead = 0;
    }

    /// <summary>Picks the next token from <paramref name="logits"/> ([vocab]).</summary>
    public int Sample(ReadOnlySpan<float> logits) => Run(logits, null);

    /// <summary>
    /// Picks the next token that <paramref name="grammar"/> allows (null: any), lazily as llama.cpp does: sample
    /// as if unconstrained, and only when that token is not allowed, mask all disallowed tokens and sample
    /// again. For a plain softmax draw this is the masked distribution exactly (a token t is taken with
    /// p(t) + p(rejected)·p(t)/(1 − p(rejected)) = p(t)/(1 − p(rejected))), and most steps skip the mask.
    /// </summary>
    /// <exception cref="GrammarException">No token with a finite logit is allowed.</exception>
    public int Sample(ReadOnlySpan<float> logits, GrammarMatcher? grammar)
    {
        int token = Run(logits, null);
        if (grammar is null || grammar.IsAllowed(token))
        {
            return token;
        }
        return Run(logits, grammar);
    }

    private int Run(ReadOnlySpan<float> logits, GrammarMatcher? grammar)
    {
        SamplingOptions o = Options;
        Candidates c = _candidates;
        c.Load(logits);
        if (o.LogitBias is { Count: > 0 })
        {
            SamplerStages.LogitBias(c, o.LogitBias);
        }
        if (o.PenaltyLastN != 0 && _recentCount > 0)
        {
            int n = o.PenaltyLastN < 0 ? _recentCount : Math.Min(o.PenaltyLastN, _recentCount);
            ReadOnlySpan<int> window = _recent.AsSpan(_recentHead + _capacity - n, n);
            SamplerStages.Penalties(c, window, o.RepeatPenalty, o.FrequencyPenalty, o.PresencePenalty, _counts);
        }
        if (grammar is not null)
        {
            SamplerStages.Grammar(c, grammar);
        }
        if (o.Temperature <= 0f)
        {
            return SamplerStages.Greedy(c);
        }
        SamplerStages.TopK(c, o.TopK);
        SamplerStages.TopP(c, o.TopP);
        SamplerStages.MinP(c, o.MinP);
        SamplerStages.Temperature(c, o.Temperature);
        return SamplerStages.Distribution(c, Rng);
    }
}
