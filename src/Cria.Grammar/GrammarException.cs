namespace Cria.Grammar;

/// <summary>
/// A grammar or JSON Schema that cannot be used, or a grammar state that cannot go on. The message says
/// what is wrong and where: GBNF errors carry the 1-based <see cref="Line"/> and <see cref="Column"/>;
/// JSON Schema errors name the keyword and its JSON pointer (<see cref="SchemaPath"/>), so a server can
/// answer 400 with the message as it is.
/// </summary>
public sealed class GrammarException : Exception
{
    public GrammarException()
    {
    }

    public GrammarException(string message)
        : base(message)
    {
    }

    public GrammarException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>An error at a place in GBNF text; the message is prefixed with "line L, column C: ".</summary>
    public GrammarException(string message, int line, int column)
        : base($"line {line}, column {column}: {message}")
    {
        Line = line;
        Column = column;
    }

    /// <summary>An error in a JSON Schema at <paramref name="schemaPath"/> (a JSON pointer such as "#/properties/age").</summary>
    public GrammarException(string message, string schemaPath)
        : base($"{message} (at {schemaPath})")
    {
        SchemaPath = schemaPath;
    }

    /// <summary>1-based line in the GBNF text, or 0 when the error has no place in it.</summary>
    public int Line { get; }

    /// <summary>1-based column (in UTF-16 code units) in the GBNF text, or 0.</summary>
    public int Column { get; }

    /// <summary>The JSON pointer of the schema that could not be converted, or null.</summary>
    public string? SchemaPath { get; }
}
