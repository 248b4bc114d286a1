namespace Cria.Fuzz;

/// <summary>
/// A harness's own check failed: the parser accepted the input but broke a promise (a path built outside
/// its folder, a value that does not survive a round trip). Never caught by a harness, so it is a finding.
/// </summary>
public sealed class FuzzFinding : Exception
{
    public FuzzFinding()
    {
    }

    public FuzzFinding(string message)
        : base(message)
    {
    }

    public FuzzFinding(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
