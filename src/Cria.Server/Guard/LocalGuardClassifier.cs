using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Guard.LlamaGuard;
using Cria.Numerics.Threading;
using Cria.Templates;

namespace Cria.Server.Guard;

/// <summary>
/// A Llama Guard GGUF run in-process with Cria's engine (<see cref="LocalModel"/>, the server's compute pool),
/// outside the batch engine: one classification at a time (a semaphore), each in a fresh context. The classifier
/// text goes in as one user message through the model's own chat template; the score is the softmax probability
/// of the first token of <c>unsafe</c> at the first generated position; then up to <see cref="MaxAnswerTokens"/>
/// tokens are decoded greedily for the categories line. A call past <see cref="Timeout"/> throws
/// <see cref="TimeoutException"/>, which the check's <c>on_error</c> decides.
/// </summary>
internal sealed class LocalGuardClassifier : IGuardClassifier, IDisposable
{
    public const int MaxAnswerTokens = 24;

    private readonly LocalModel _local;
    private readonly ChatTemplate _template;
    private readonly int _unsafeId;
    private readonly int _contextLength;
    private readonly SemaphoreSlim _one = new(1, 1);

    private LocalGuardClassifier(LocalModel local, TimeSpan timeout)
    {
        _local = local;
        _template = ChatTemplate.FromGgufOrDefault(local.ChatTemplateSource);
        int[] ids = local.Tokenizer.Encode("unsafe", addSpecial: false);
        _unsafeId = ids.Length > 0 ? ids[0] : -1;
        _contextLength = Math.Min(local.Model.Config.ContextLength, 8192);
        Timeout = timeout;
    }

    public TimeSpan Timeout { get; }

    public string Path => _local.FilePath;

    /// <summary>Loads the guard GGUF; a missing or unreadable file throws here, at server start.</summary>
    public static LocalGuardClassifier Load(string path, TimeSpan timeout, ComputePool? pool = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the llama_guard model file \"{path}\" does not exist", path);
        }
        return new LocalGuardClassifier(LocalModel.Load(path, pool), timeout);
    }

    public async Task<ClassifierVerdict> ClassifyAsync(string prompt, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(Timeout);
        try
        {
            await _one.WaitAsync(timeout.Token).ConfigureAwait(false);
            try
            {
                return await Task.Run(() => Run(prompt, started, timeout.Token), timeout.Token).ConfigureAwait(false);
            }
            finally
            {
                _one.Release();
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"the guard model took longer than {Timeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>Runs the model; past <see cref="Timeout"/> since <paramref name="started"/> (checked after each forward pass) it throws.</summary>
    private ClassifierVerdict Run(string prompt, long started, CancellationToken cancel)
    {
        var tokenizer = _local.Tokenizer;
        string bos = tokenizer.BosId >= 0 ? tokenizer.TokenText(tokenizer.BosId) : "";
        string eos = tokenizer.EosId >= 0 ? tokenizer.TokenText(tokenizer.EosId) : "";
        string text = _template.Render([new ChatMessage("user", prompt)], addGenerationPrompt: true, bos, eos);
        if (bos.Length > 0 && text.StartsWith(bos, StringComparison.Ordinal))
        {
            text = text[bos.Length..]; // the tokenizer adds its own BOS
        }
        int[] ids = tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
        if (ids.Length + MaxAnswerTokens > _contextLength)
        {
            throw new InvalidOperationException($"the guard prompt is {ids.Length} tokens; the guard model's context holds {_contextLength}");
        }
        InferenceContext ctx = _local.Model.CreateContext(ids.Length + MaxAnswerTokens);
        _local.Model.Forward(ctx, ids);
        double probability = UnsafeProbability(ctx.Logits);
        var answer = new List<int>(MaxAnswerTokens);
        for (int i = 0; i < MaxAnswerTokens; i++)
        {
            cancel.ThrowIfCancellationRequested();
            CheckTime(started);
            int next = ArgMax(ctx.Logits);
            if (tokenizer.IsEndOfGeneration(next))
            {
                break;
            }
            answer.Add(next);
            _local.Model.Forward(ctx, [next]);
        }
        return new ClassifierVerdict(probability, tokenizer.Decode([.. answer]));
    }

    private void CheckTime(long started)
    {
        if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > Timeout)
        {
            throw new TimeoutException($"the guard model took longer than {Timeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>softmax(logits)[unsafe], computed stably; NaN when the vocabulary has no piece for "unsafe".</summary>
    private double UnsafeProbability(ReadOnlySpan<float> logits)
    {
        if ((uint)_unsafeId >= (uint)logits.Length)
        {
            return double.NaN;
        }
        float max = float.NegativeInfinity;
        foreach (float l in logits)
        {
            max = Math.Max(max, l);
        }
        double sum = 0;
        foreach (float l in logits)
        {
            sum += Math.Exp(l - max);
        }
        return Math.Exp(logits[_unsafeId] - max) / sum;
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }

    public void Dispose()
    {
        _local.Dispose();
        _one.Dispose();
    }
}
