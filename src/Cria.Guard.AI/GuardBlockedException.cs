using Cria.Guard.Rails;

namespace Cria.Guard.AI;

/// <summary>An input a guard rail blocked: the detector and type are named, never the text they found.</summary>
public sealed class GuardBlockedException : Exception
{
    public GuardBlockedException()
    {
    }

    public GuardBlockedException(string message)
        : base(message)
    {
    }

    public GuardBlockedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GuardBlockedException(GuardStage stage, RailFinding finding)
        : base($"the {GuardStages.Name(stage)} was blocked by the guard: detector '{finding.Finding.Detector}' found '{finding.Finding.Type}'")
    {
        Stage = stage;
        Finding = finding;
    }

    public GuardStage Stage { get; }

    public RailFinding? Finding { get; }
}
