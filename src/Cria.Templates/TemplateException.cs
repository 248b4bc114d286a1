namespace Cria.Templates;

/// <summary>What went wrong in a chat template, so a server can choose a status code.</summary>
public enum TemplateErrorKind
{
    /// <summary>The template text does not parse.</summary>
    Syntax,

    /// <summary>The template failed while rendering (undefined call, type mismatch, ...).</summary>
    Runtime,

    /// <summary>The template called <c>raise_exception(msg)</c>: usually a request it rejects (e.g. roles that do not alternate).</summary>
    Raised,

    /// <summary>A safety limit was hit (output size, iterations, call depth, nesting).</summary>
    Limit,
}

/// <summary>
/// A template error that names where in the template it happened. <see cref="Reason"/> is the bare
/// cause (for <see cref="TemplateErrorKind.Raised"/>, the template's own text); <see cref="Exception.Message"/>
/// adds the line, column and the template's source line.
/// </summary>
public sealed class TemplateException : Exception
{
    public TemplateException()
        : this(TemplateErrorKind.Runtime, "template error")
    {
    }

    public TemplateException(string message)
        : this(TemplateErrorKind.Runtime, message)
    {
    }

    public TemplateException(string message, Exception innerException)
        : this(TemplateErrorKind.Runtime, message, innerException)
    {
    }

    internal TemplateException(TemplateErrorKind kind, string reason, Exception? innerException = null)
        : base(reason, innerException)
    {
        Kind = kind;
        Reason = reason;
    }

    internal TemplateException(TemplateErrorKind kind, string reason, int line, int column)
        : this(kind, reason)
    {
        Line = line;
        Column = column;
    }

    public TemplateErrorKind Kind { get; }

    /// <summary>The cause without location, e.g. "'foo' is undefined" or a <c>raise_exception</c> message.</summary>
    public string Reason { get; }

    /// <summary>1-based line in the template, or 0 when unknown.</summary>
    public int Line { get; private set; }

    /// <summary>1-based column in the template, or 0 when unknown.</summary>
    public int Column { get; private set; }

    /// <summary>The template line the error points at (cut to 200 characters), when known.</summary>
    public string? SourceLine { get; private set; }

    public override string Message
    {
        get
        {
            string what = Kind switch
            {
                TemplateErrorKind.Syntax => "template syntax error",
                TemplateErrorKind.Raised => "template raised an exception",
                TemplateErrorKind.Limit => "template limit exceeded",
                _ => "template error",
            };
            string where = Line > 0 ? $" at line {Line}, column {Column}" : "";
            string source = SourceLine is null ? "" : $"\n  {SourceLine}";
            return $"{what}{where}: {Reason}{source}";
        }
    }

    /// <summary>Sets the location once: the innermost node that saw the error wins.</summary>
    internal void Locate(int line, int column)
    {
        if (Line == 0 && line > 0)
        {
            Line = line;
            Column = column;
        }
    }

    internal void AttachSource(string source)
    {
        if (Line <= 0 || SourceLine is not null)
        {
            return;
        }
        string[] lines = source.Split('\n');
        if (Line <= lines.Length)
        {
            string text = lines[Line - 1].TrimEnd('\r');
            SourceLine = text.Length > 200 ? text[..200] + "..." : text;
        }
    }
}
