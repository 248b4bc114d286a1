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
    public int PromptTokens { get; internal set; }
    public int GeneratedTokens { get; internal set; }
    public TimeSpan PromptTime { get; internal set; }
    public TimeSpan GenerationTime { get; internal set; }
    public FinishReason FinishReason { get; internal set; }

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
        var sampler = new Sampler(_model.VocabSize, options.Sampling);
        var decoder = new StreamingDecoder(_tokenizer);
        var stops = new StopMatcher(options.Stop);
        int[] promptIds = prompt.ToArray();
        foreach (int t in promptIds)
        {
            sampler.Accept(t);
        }

        var clock = Stopwatch.StartNew();
        ctx.Reset();
        _model.Forward(ctx, promptIds);
        stats.PromptTokens = promptIds.Length;
        stats.PromptTime = clock.Elapsed;
        clock.Restart();

        int previous = promptIds[^1];
        bool stripSpace = _tokenizer.AddSpacePrefix && previous == _tokenizer.BosId;
        stats.FinishReason = FinishReason.Length;
        for (int i = 0; i < options.MaxTokens; i++)
        {
            if (cancel.IsCancellationRequested)
            {
                stats.FinishReason = FinishReason.Cancelled;
                break;
            }
            int next = sampler.Sample(ctx.Logits);
            TokenLogprob? logprob = options.Logprobs is { } top ? TokenLogprob.Compute(ctx.Logits, next, top) : null;
            if (_tokenizer.IsEndOfGeneration(next))
            {
                stats.FinishReason = FinishReason.Stop;
                break;
            }
            stats.GeneratedTokens++;
            sampler.Accept(next);
            string text = decoder.Push(next);
            if (stripSpace && text.Length > 0)
            {
                // SentencePiece adds a space before the first word; after BOS the reference
                // implementations (llama2.c run.c, llama.cpp) do not print it.
                if (text[0] == ' ')
                {
                    text = text[1..];
                }
                stripSpace = false;
            }
            yield return new GenerationStep(next, stops.Push(text), logprob);
            if (stops.Stopped)
            {
                stats.FinishReason = FinishReason.Stop;
                break;
            }
            if (ctx.Position >= ctx.ContextLength)
            {
                break;
            }
            _model.Forward(ctx, [next]);
            stats.GenerationTime = clock.Elapsed;
        }
        stats.GenerationTime = clock.Elapsed;
        if (!stops.Stopped)
        {
            string tail = stops.Push(decoder.Flush()) + stops.Flush();
            if (tail.Length > 0)
            {
                yield return new GenerationStep(-1, tail, null);
            }
        }
    }
}
