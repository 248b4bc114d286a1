namespace Cria.Guard.LlamaGuard;

/// <summary>
/// What a guard model said about one classifier text: <see cref="UnsafeProbability"/>, the probability of the
/// first token of <c>unsafe</c> at the first generated position (NaN when the host cannot tell), and
/// <see cref="Answer"/>, the greedily decoded text (<c>safe</c>, or <c>unsafe</c> and a line of categories).
/// </summary>
public readonly record struct ClassifierVerdict(double UnsafeProbability, string Answer);

/// <summary>
/// A guard model run by the host (the server runs the GGUF in-process): it sends <c>prompt</c>, the text
/// <see cref="LlamaGuardPrompt.Build"/> made, as one user message through the model's chat template. It may
/// throw or time out; the check's <c>on_error</c> decides what that means. Safe to call concurrently.
/// </summary>
public interface IGuardClassifier
{
    Task<ClassifierVerdict> ClassifyAsync(string prompt, CancellationToken cancel);
}
