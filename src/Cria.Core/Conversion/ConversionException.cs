namespace Cria.Core.Conversion;

/// <summary>A source file for conversion (checkpoint, tokenizer) that is malformed; names the file, the field and the offset.</summary>
public sealed class ConversionException : Exception
{
    public ConversionException(string filePath, string field, long offset, string problem)
        : base($"{filePath}: {field} at byte {offset}: {problem}")
    {
    }

    public ConversionException()
    {
    }

    public ConversionException(string message)
        : base(message)
    {
    }

    public ConversionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
