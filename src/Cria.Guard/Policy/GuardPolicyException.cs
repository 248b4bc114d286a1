namespace Cria.Guard.Policy;

/// <summary>A policy file that cannot be used, with the JSON path of what is wrong (<c>$.input[1].detector</c>).</summary>
public sealed class GuardPolicyException : Exception
{
    public GuardPolicyException()
    {
        Path = "$";
    }

    public GuardPolicyException(string message)
        : base(message)
    {
        Path = "$";
    }

    public GuardPolicyException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = "$";
    }

    public GuardPolicyException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
    }

    /// <summary>The JSON path of the value at fault.</summary>
    public string Path { get; }
}
