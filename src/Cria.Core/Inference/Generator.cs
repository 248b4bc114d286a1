using System.Diagnostics;

using Cria.Core.Models;
using Cria.Core.Sampling;
using Cria.Core.Tokenization;

namespace Cria.Core.Inference;

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>Still running.</summary>
    None,

    /// <summary>The token budget or the context ran out.</summary>
    Length,

    /// <summary>The model emitted an end-of-generation token, or a stop string matched.</summary>
    Stop,

    /// <summary>The caller cancelled.</summary>
    Cancelled,

    /// <summary>The engine failed on this sequence (its error is reported beside it); never a normal end.</summary>
    Error,
}

/// <summary>Options of one generation.</summary>
public sealed record GenerationOptions
{
    public int MaxTokens { get; init; } = 256;
    public SamplingOptions Sampling { get; init; } = new();
    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>Report each token's log-probability and this many alternatives (0–20); null: no log-probabilities.</summary>
    public int? Logprobs { get; init; }
}

/// <summary>
/// One decode step of a generation: the token, the text that became final with it (often empty while a
/// multi-byte character or a possible stop string is held back) and, when asked for, its log-probability.
/// The last step of a generation may carry only held-back text, with <see cref="Token"/> = -1.
/// </summary>
public readonly record struct GenerationStep(int Token, string Text, TokenLogprob? Logprob);

/// <summary>Counters and timings of a finished (or running) generation.</summary>
public sealed class GenerationStats
{
    public int PromptTokens { get; set; }
    public int GeneratedTokens { get; set; }
    public TimeSpan PromptTime { get; set; }
    public TimeSpan GenerationTime { get; set; }
    public FinishReason FinishReason { get; set; }

    public double PromptTokensPerSecond => PromptTime.TotalSeconds > 0 ? PromptTokens / PromptTime.TotalSeconds : 0;
    public double TokensPerSecond => GenerationTime.TotalSeconds > 0 ? GeneratedTokens / GenerationTime.TotalSeconds : 0;
}

/// <summary>
/// The decode loop: prefill the prompt in batches, then sample, check for the end, detokenize
/// (UTF-8 safe) and match stop strings, one token at a time. Text is yielded as it becomes final.
/// </summary>
public sealed class Generator
{
    private readonly LlamaModel _model;
    private readonly Tokenizer _tokenizer;

    public Generator(LlamaModel model, Tokenizer tokenizer)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
    }

    /// <summary>
    /// Generates after <paramref name="prompt"/> (token ids, BOS included when wanted), yielding text
    /// pieces. The context must be empty or hold a prefix of the prompt that is reused.
    /// </summary>
    public IEnumerable<string> Generate(InferenceContext ctx, IReadOnlyList<int> prompt, GenerationOptions options, GenerationStats stats, CancellationToken cancel = default) =>
        TextOf(GenerateSteps(ctx, prompt, options, stats, cancel)); // arguments are checked now, not at the first MoveNext

    private static IEnumerable<string> TextOf(IEnumerable<GenerationStep> steps)
    {
        foreach (GenerationStep step in steps)
        {
            if (step.Text.Length > 0)
            {
                yield return step.Text;
            }
        }
    }

    /// <summary>
    /// Like <see cref="Generate"/>, one item per generated token (plus possibly a last one with held-back
    /// text), with the token id and, when <see cref="GenerationOptions.Logprobs"/> is set, its log-probability.
    /// </summary>
    public IEnumerable<GenerationStep> GenerateSteps(InferenceContext ctx, IReadOnlyList<int> prompt, GenerationOptions options, GenerationStats stats, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stats);
        if (prompt.Count == 0)
        {
            throw new ArgumentException("the prompt needs at least one token (BOS for an empty prompt)", nameof(prompt));
        }
        if (prompt.Count > ctx.ContextLength)
        {
            throw new ArgumentException($"the prompt is {prompt.Count} tokens; the context holds {ctx.ContextLength}");
        }
        if (options.Logprobs is < 0 or > TokenLogprob.MaxTop)
        {
            throw new ArgumentException($"logprobs must be between 0 and {TokenLogprob.MaxTop}, got {options.Logprobs}");
        }
        return Run(ctx, prompt, options, stats, cancel);
    }

    private IEnumerable<GenerationStep> Run(InferenceContext ctx, IReadOnlyList<int> prompt, GenerationOptions options, GenerationStats stats, CancellationToken cancel)
    {
        int[] promptIds = prompt.ToArray();
        var sequence = new SequenceDecoder(_tokenizer, _model.VocabSize, promptIds, options, stats);

        var clock = Stopwatch.StartNew();
        int reused = ReusePrefix(ctx, promptIds);
        _model.Forward(ctx, promptIds.AsSpan(reused));
        stats.PromptTime = clock.Elapsed;
        clock.Restart();

        while (!sequence.Finished)
        {
            if (cancel.IsCancellationRequested)
            {
                sequence.Finish(FinishReason.Cancelled);
                break;
            }
            if (sequence.Next(ctx.Logits) is not { } step)
            {
                break; // end of generation
            }
            yield return step;
            if (sequence.Finished)
            {
                break;
            }
            if (ctx.Position >= ctx.ContextLength)
            {
                sequence.Finish(FinishReason.Length);
                break;
            }
            _model.Forward(ctx, [step.Token]);
            stats.GenerationTime = clock.Elapsed;
        }
        stats.GenerationTime = clock.Elapsed;
        if (sequence.Flush() is { } tail)
        {
            yield return tail;
        }
    }

    /// <summary>
    /// Keeps the longest prefix the context already holds of <paramref name="prompt"/> (a conversation's
    /// earlier turns, a shared system prompt) and returns its length; at least the last prompt token is
    /// always fed again, so its logits are fresh.
    /// </summary>
    public static int ReusePrefix(InferenceContext ctx, ReadOnlySpan<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ReadOnlySpan<int> history = ctx.History;
        int common = 0;
        int limit = Math.Min(history.Length, prompt.Length - 1);
        while (common < limit && history[common] == prompt[common])
        {
            common++;
        }
        ctx.Truncate(common);
        if (common == 0 && ctx.SharesPool)
        {
            // A fresh sequence over a shared pool: attach the cached blocks of this prompt's prefix.
            return ctx.AttachCachedPrefix(prompt);
        }
        return common;
    }
}
