namespace Cria.Core.Gguf;

/// <summary>
/// The one error a malformed, truncated or hostile GGUF file produces. The message names the file,
/// the field being read and the byte offset where it starts.
/// </summary>
public sealed class GgufFormatException : Exception
{
    public GgufFormatException(string filePath, string field, long offset, string problem)
        : base($"{filePath}: invalid GGUF: {field} at byte {offset}: {problem}")
    {
        FilePath = filePath;
        Field = field;
        Offset = offset;
    }

    public GgufFormatException()
    {
        FilePath = Field = "";
    }

    public GgufFormatException(string message)
        : base(message)
    {
        FilePath = Field = "";
    }

    public GgufFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        FilePath = Field = "";
    }

    public string FilePath { get; }

    public string Field { get; }

    public long Offset { get; }
}
