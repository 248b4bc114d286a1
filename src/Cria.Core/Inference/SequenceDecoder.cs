using Cria.Core.Sampling;
using Cria.Core.Tokenization;
using Cria.Grammar;

namespace Cria.Core.Inference;

/// <summary>
/// What happens to one sequence after each forward pass: sample the next token, stop at an
/// end-of-generation token, a stop string or the token budget, and turn tokens into text that is
/// final (UTF-8 complete, not part of a possible stop string). It does not run the model, so one
/// loop can drive many sequences through a batched forward pass (<see cref="Generator"/> drives one).
/// Invariant: once <see cref="Finished"/>, <see cref="GenerationStats.FinishReason"/> says why and no
/// more tokens are sampled; <see cref="Flush"/> then releases any text still held back, once. With a
/// grammar, every token handed out was allowed by it, end of generation comes only where the grammar can
/// end, and a grammar that is complete with nothing more possible ends the sequence (Stop).
/// </summary>
public sealed class SequenceDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly GenerationOptions _options;
    private readonly Sampler _sampler;
    private readonly StreamingDecoder _decoder;
    private readonly StopMatcher _stops;
    private readonly GrammarMatcher? _grammar;
    private bool _stripSpace;
    private bool _flushed;

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="vocabSize">Logits per step.</param>
    /// <param name="prompt">The prompt's token ids (they enter the penalty window).</param>
    /// <param name="options">Budget, sampling, stop strings, log-probabilities.</param>
    /// <param name="stats">Counters this sequence updates.</param>
    public SequenceDecoder(Tokenizer tokenizer, int vocabSize, IReadOnlyList<int> prompt, GenerationOptions options, GenerationStats stats)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stats);
        if (prompt.Count == 0)
        {
            throw new ArgumentException("the prompt needs at least one token (BOS for an empty prompt)", nameof(prompt));
        }
        if (options.Logprobs is < 0 or > TokenLogprob.MaxTop)
        {
            throw new ArgumentException($"logprobs must be between 0 and {TokenLogprob.MaxTop}, got {options.Logprobs}");
        }
        _tokenizer = tokenizer;
        _options = options;
        Stats = stats;
        _sampler = new Sampler(vocabSize, options.Sampling);
        _decoder = new StreamingDecoder(tokenizer);
        _stops = new StopMatcher(options.Stop);
        _grammar = options.Sampling.Grammar?.CreateMatcher(tokenizer);
        foreach (int t in prompt)
        {
            _sampler.Accept(t);
        }
        // SentencePiece adds a space before the first word; after BOS the reference implementations
        // (llama2.c run.c, llama.cpp) do not print it.
        _stripSpace = tokenizer.AddSpacePrefix && prompt[^1] == tokenizer.BosId;
        stats.PromptTokens = prompt.Count;
        stats.FinishReason = FinishReason.None;
        if (options.MaxTokens <= 0)
        {
            Finish(FinishReason.Length);
        }
        else if (_grammar is { IsComplete: true })
        {
            Finish(FinishReason.Stop); // a grammar that matches only the empty text
        }
    }

    public GenerationStats Stats { get; }

    public bool Finished { get; private set; }

    /// <summary>
    /// Samples the token that follows <paramref name="logits"/> ([vocab], from the forward pass over the
    /// prompt or the previous token). Returns null when the model ended the generation; otherwise the
    /// step, whose token must be fed next unless <see cref="Finished"/> is now set.
    /// </summary>
    public GenerationStep? Next(ReadOnlySpan<float> logits)
    {
        if (Finished)
        {
            throw new InvalidOperationException("the sequence has finished");
        }
        int next = _sampler.Sample(logits, _grammar);
        TokenLogprob? logprob = _options.Logprobs is { } top ? TokenLogprob.Compute(logits, next, top) : null;
        if (_tokenizer.IsEndOfGeneration(next))
        {
            Finish(FinishReason.Stop);
            return null;
        }
        Stats.GeneratedTokens++;
        _sampler.Accept(next);
        _grammar?.Accept(next);
        string text = _decoder.Push(next);
        if (_stripSpace && text.Length > 0)
        {
            if (text[0] == ' ')
            {
                text = text[1..];
            }
            _stripSpace = false;
        }
        var step = new GenerationStep(next, _stops.Push(text), logprob);
        if (_stops.Stopped || _grammar is { IsComplete: true })
        {
            Finish(FinishReason.Stop);
        }
        else if (Stats.GeneratedTokens >= _options.MaxTokens)
        {
            Finish(FinishReason.Length);
        }
        return step;
    }

    /// <summary>Ends the sequence from outside: the context is full (Length) or the caller cancelled.</summary>
    public void Finish(FinishReason reason)
    {
        if (!Finished)
        {
            Finished = true;
            Stats.FinishReason = reason;
        }
    }

    /// <summary>After the end: text held back (an incomplete character, a partial stop string that never completed), or null.</summary>
    public GenerationStep? Flush()
    {
        if (_flushed || _stops.Stopped)
        {
            return null;
        }
        _flushed = true;
        string tail = _stops.Push(_decoder.Flush()) + _stops.Flush();
        return tail.Length > 0 ? new GenerationStep(-1, tail, null) : null;
    }
}
