using Cria.Grammar;

namespace Cria.Core.Sampling;

/// <summary>
/// What a sampler does, with llama.cpp's defaults. Temperature 0 means greedy (argmax). A value that
/// disables a stage: TopK 0, TopP 1, MinP 0, RepeatPenalty 1, Frequency/PresencePenalty 0.
/// </summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; } = 0.8f;
    public int TopK { get; init; } = 40;
    public float TopP { get; init; } = 0.95f;
    public float MinP { get; init; } = 0.05f;
    public float RepeatPenalty { get; init; } = 1.0f;
    public int PenaltyLastN { get; init; } = 64;
    public float FrequencyPenalty { get; init; }
    public float PresencePenalty { get; init; }
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    public ulong? Seed { get; init; }

    /// <summary>
    /// Constrains the text to a grammar (null: unconstrained). The compiled grammar is shared and immutable;
    /// each generation makes its own <see cref="GrammarMatcher"/> from it.
    /// </summary>
    public CompiledGrammar? Grammar { get; init; }

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0f };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0f) || float.IsInfinity(Temperature))
        {
            throw new ArgumentException($"temperature must be ≥ 0, got {Temperature}");
        }
        if (TopK < 0)
        {
            throw new ArgumentException($"top-k must be ≥ 0, got {TopK}");
        }
        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        }
        if (!(MinP >= 0f && MinP <= 1f))
        {
            throw new ArgumentException($"min-p must be in [0, 1], got {MinP}");
        }
        if (!(RepeatPenalty > 0f) || float.IsInfinity(RepeatPenalty))
        {
            throw new ArgumentException($"repeat penalty must be > 0, got {RepeatPenalty}");
        }
        if (PenaltyLastN < -1)
        {
            throw new ArgumentException($"penalty window must be ≥ -1, got {PenaltyLastN}");
        }
        if (!float.IsFinite(FrequencyPenalty) || !float.IsFinite(PresencePenalty))
        {
            throw new ArgumentException("frequency and presence penalties must be finite");
        }
    }
}
