using System.Text;

namespace Cria.Hub.Modelfiles;

/// <summary>
/// A parsed Modelfile (Ollama's format, docs/modelfile.md): FROM, PARAMETER, TEMPLATE, SYSTEM,
/// ADAPTER, LICENSE and MESSAGE, in order. Instructions are case-insensitive; a value runs to the end
/// of its line unless it is quoted with <c>"</c> or <c>"""</c>, which may span lines; <c>#</c> starts a
/// comment line. Parameters are checked here (names and value types, as Ollama does), so a bad file
/// fails with its line number before anything is written to the store.
/// </summary>
public sealed class Modelfile
{
    /// <summary>Largest Modelfile read (licences and templates are text; this is far more than any real one).</summary>
    public const int MaxBytes = 16 << 20;

    internal Modelfile(IReadOnlyList<ModelfileInstruction> instructions, IReadOnlyList<string> warnings, string source)
    {
        Instructions = instructions;
        Warnings = warnings;
        Source = source;
    }

    public IReadOnlyList<ModelfileInstruction> Instructions { get; }

    /// <summary>Things accepted but ignored (deprecated parameters, Ollama-only instructions), one sentence each with its line.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The file name used in messages.</summary>
    public string Source { get; }

    /// <summary>The FROM instruction (exactly one is required).</summary>
    public ModelfileInstruction From => Instructions.First(i => i.Verb == ModelfileVerb.From);

    /// <summary>Parses Modelfile text.</summary>
    /// <exception cref="ModelfileException">The text is not a valid Modelfile; the message gives the line.</exception>
    public static Modelfile Parse(string text, string source = "Modelfile")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        return new ModelfileParser(text, source).Parse();
    }

    /// <summary>Reads and parses a Modelfile (UTF-8, or UTF-16 with a byte order mark).</summary>
    public static Modelfile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"Modelfile not found: {path}", path);
        }
        if (info.Length > MaxBytes)
        {
            throw new ModelfileException(path, 0, $"the file is {info.Length:N0} bytes; a Modelfile may be at most {MaxBytes:N0}");
        }
        return Parse(Decode(File.ReadAllBytes(path), path), path);
    }

    /// <summary>UTF-8 (BOM optional) or UTF-16 LE/BE with a BOM, as Ollama reads it; invalid bytes are an error.</summary>
    internal static string Decode(byte[] bytes, string source)
    {
        try
        {
            if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE)
            {
                return new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true).GetString(bytes, 2, bytes.Length - 2);
            }
            if (bytes.Length >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF)
            {
                return new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true).GetString(bytes, 2, bytes.Length - 2);
            }
            int skip = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, skip, bytes.Length - skip);
        }
        catch (DecoderFallbackException e)
        {
            throw new ModelfileException(source, 0, $"the file is not valid UTF-8 or UTF-16 text ({e.Message})");
        }
    }

    /// <summary>The Modelfile as text that parses back to the same instructions.</summary>
    public override string ToString()
    {
        var b = new StringBuilder();
        foreach (ModelfileInstruction i in Instructions)
        {
            b.Append(Render(i)).Append('\n');
        }
        return b.ToString();
    }

    /// <summary>One instruction as a Modelfile line (or lines, for a multi-line value).</summary>
    public static string Render(ModelfileInstruction instruction)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        string verb = instruction.Verb.ToString().ToUpperInvariant();
        return instruction.Key is null
            ? $"{verb} {Quote(instruction.Value)}"
            : $"{verb} {instruction.Key} {Quote(instruction.Value)}";
    }

    /// <summary>
    /// A value as Modelfile text: bare when that reads back the same, else in <c>"…"</c>, else in
    /// <c>"""…"""</c> (Ollama's quote rules, with the cases Ollama gets wrong avoided).
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        bool bare = value.Length > 0 && !value.Contains('\n') && value[0] is not (' ' or '\t' or '"') && value[^1] is not (' ' or '\t');
        if (bare)
        {
            return value;
        }
        if (!value.Contains('"'))
        {
            return $"\"{value}\"";
        }
        return $"\"\"\"{value}\"\"\"";
    }
}
