using Cria.Guard.Detectors;

namespace Cria.Guard.LlamaGuard;

/// <summary>
/// The <c>llama_guard</c> check's detector: asks a guard model whether a conversation is unsafe under the enabled
/// <see cref="Categories"/>. Invariant: the policy reader makes it unbound; the host binds its classifier once, at
/// start, before any request (<see cref="Bind"/>); unbound, every call throws, which the check's <c>on_error</c>
/// (block by default) turns into a refusal. A finding spans the whole text, typed by the violated codes
/// (<c>S1,S10</c>), scored by the probability of <c>unsafe</c>, which the check's threshold is compared with.
/// Categories the model names that are not enabled count as safe (as Llama Stack's excluded categories).
/// </summary>
public sealed class LlamaGuardDetector(string model, IReadOnlyList<string> categories) : Detector
{
    private IGuardClassifier? _classifier;

    public override string Name => "llama_guard";

    public override bool IsSynchronous => false;

    /// <summary>The policy's <c>model</c>: a name the host resolves or a GGUF path.</summary>
    public string Model => model;

    public IReadOnlyList<string> Categories => categories;

    public bool IsBound => Volatile.Read(ref _classifier) is not null;

    /// <summary>Gives the detector its classifier; a second call is refused.</summary>
    public void Bind(IGuardClassifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (Interlocked.CompareExchange(ref _classifier, classifier, null) is not null)
        {
            throw new InvalidOperationException($"the llama_guard check for model \"{model}\" is already bound");
        }
    }

    public override void Detect(string text, List<Finding> findings) =>
        throw new InvalidOperationException("a llama_guard check runs a model and must be awaited (DetectAsync)");

    /// <summary>Judges <paramref name="text"/> as one user turn.</summary>
    public override async ValueTask DetectAsync(string text, List<Finding> findings, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(findings);
        LlamaGuardResult result = await ClassifyAsync([new GuardTurn("user", text)], cancel).ConfigureAwait(false);
        if (result.Unsafe || result.Score > 0)
        {
            // A "safe" answer still carries the probability of unsafe: a check with a low threshold blocks on it.
            string type = result.Categories.Count > 0 ? string.Join(',', result.Categories) : "unsafe";
            findings.Add(new Finding(Name, type, 0, text.Length, result.Score));
        }
    }

    /// <summary>The model's verdict on the last turn of <paramref name="turns"/>; throws when the model fails or answers neither safe nor unsafe.</summary>
    public async Task<LlamaGuardResult> ClassifyAsync(IReadOnlyList<GuardTurn> turns, CancellationToken cancel)
    {
        IGuardClassifier classifier = Volatile.Read(ref _classifier)
            ?? throw new InvalidOperationException($"no guard model is loaded for the llama_guard check (model \"{model}\")");
        string prompt = LlamaGuardPrompt.Build(turns, categories);
        ClassifierVerdict verdict = await classifier.ClassifyAsync(prompt, cancel).ConfigureAwait(false);
        // The answer itself stays out of the message: a model that is no classifier may echo what it was asked.
        LlamaGuardAnswer answer = LlamaGuardAnswer.TryParse(verdict.Answer ?? "", out _)
            ?? throw new FormatException($"the guard model \"{model}\" gave no classifier answer (neither 'safe' nor 'unsafe' and a line of categories)");
        double p = verdict.UnsafeProbability;
        if (!answer.Unsafe)
        {
            return new LlamaGuardResult(false, [], double.IsFinite(p) ? Math.Clamp(p, 0, 1) : 0);
        }
        string[] enabled = [.. answer.Categories.Where(c => categories.Contains(c))];
        if (answer.Categories.Count > 0 && enabled.Length == 0)
        {
            return new LlamaGuardResult(false, [], 0);
        }
        return new LlamaGuardResult(true, enabled, double.IsFinite(p) ? Math.Clamp(p, 0, 1) : 1);
    }
}

/// <summary>A verdict: unsafe or not, the enabled categories violated, and the probability of <c>unsafe</c> (0–1).</summary>
public sealed record LlamaGuardResult(bool Unsafe, IReadOnlyList<string> Categories, double Score);
