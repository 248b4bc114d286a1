namespace Cria.Guard.Detectors;

/// <summary>
/// Finds spans of one kind of content in a text. The built-in detectors are synchronous, pure functions of the
/// text and their options, safe to share between threads. A model-backed detector (a guard model, a remote
/// classifier) overrides <see cref="IsSynchronous"/> and <see cref="DetectAsync"/>; what it does when it fails
/// is its check's <c>on_error</c> (block by default), applied by <see cref="Rails.Rail"/>.
/// </summary>
public abstract class Detector
{
    /// <summary>The policy file's name of the detector (<c>pii</c>, <c>secrets</c>, …), which every finding carries.</summary>
    public abstract string Name { get; }

    /// <summary>False for detectors that must be awaited (models); a synchronous rail refuses them.</summary>
    public virtual bool IsSynchronous => true;

    /// <summary>Adds what it finds in <paramref name="text"/> to <paramref name="findings"/>, in any order.</summary>
    public abstract void Detect(string text, List<Finding> findings);

    public virtual ValueTask DetectAsync(string text, List<Finding> findings, CancellationToken cancel)
    {
        Detect(text, findings);
        return ValueTask.CompletedTask;
    }

    /// <summary>The placeholder's word for a finding of <paramref name="type"/>: <c>EMAIL</c> becomes <c>[EMAIL]</c>.</summary>
    public virtual string Label(string type) => "REDACTED";
}
