using Cria.Templates;

namespace Cria.Core.Training.Data;

/// <summary>The three shapes of a training record (one JSONL line).</summary>
public enum RecordKind
{
    /// <summary><c>{"messages": [...]}</c>: a conversation; the loss covers the assistant turns.</summary>
    Messages,

    /// <summary><c>{"prompt": "...", "completion": "..."}</c>: the loss covers the completion.</summary>
    PromptCompletion,

    /// <summary><c>{"text": "..."}</c>: the loss covers every token.</summary>
    Text,
}

/// <summary>One parsed training record and the line it came from (1-based).</summary>
public sealed record TrainingRecord(RecordKind Kind, int Line)
{
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    public string Prompt { get; init; } = "";

    public string Completion { get; init; } = "";

    public string Text { get; init; } = "";
}

/// <summary>A malformed dataset: the message names the file and line, as <c>FILE:LINE: problem</c>.</summary>
public sealed class DatasetException : FormatException
{
    public DatasetException(string path, int line, string problem)
        : base($"{path}:{line}: {problem}")
    {
        FilePath = path;
        Line = line;
    }

    public DatasetException()
    {
        FilePath = "";
    }

    public DatasetException(string message)
        : base(message)
    {
        FilePath = "";
    }

    public DatasetException(string message, Exception innerException)
        : base(message, innerException)
    {
        FilePath = "";
    }

    public string FilePath { get; }

    /// <summary>1-based line number; 0 when the problem is the whole file.</summary>
    public int Line { get; }
}
