namespace Cria.Hub.Modelfiles;

/// <summary>A Modelfile that cannot be used; <see cref="Exception.Message"/> starts with <c>PATH:LINE:</c>.</summary>
public sealed class ModelfileException : HubException
{
    public ModelfileException()
    {
    }

    public ModelfileException(string message)
        : base(message)
    {
    }

    public ModelfileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ModelfileException(string source, int line, string problem)
        : base(line > 0 ? $"{source}:{line}: {problem}" : $"{source}: {problem}")
    {
        FileName = source;
        Line = line;
    }

    /// <summary>The Modelfile's name or path as given.</summary>
    public string? FileName { get; }

    /// <summary>1-based line of the instruction (or of the string) that is wrong; 0 when the problem is the whole file.</summary>
    public int Line { get; }
}
