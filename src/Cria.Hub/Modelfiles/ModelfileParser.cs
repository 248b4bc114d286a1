using Cria.Hub.Manifests;

namespace Cria.Hub.Modelfiles;

/// <summary>
/// Reads a Modelfile the way Ollama's parser/parser.go does, with errors that name the line: an
/// instruction word, whitespace, then a value that ends at a line end — unless it opens with <c>"</c>
/// or <c>"""</c>, in which case it ends at the first line end where the text so far (trimmed) closes
/// that quote, so quoted values may span lines and contain quotes. PARAMETER and MESSAGE take a name
/// or role word before the value. Lines starting with <c>#</c> are comments.
/// </summary>
internal sealed class ModelfileParser(string text, string source)
{
    public const int MaxInstructions = 100_000;
    private const int MaxWordLength = 64;

    private readonly string _text = Normalize(text);
    private readonly List<ModelfileInstruction> _instructions = [];
    private readonly List<string> _warnings = [];
    private ModelParameters _parameters = ModelParameters.Empty;
    private int _pos;
    private int _line = 1;

    public Modelfile Parse()
    {
        CheckCharacters();
        while (true)
        {
            SkipBlank();
            if (_pos >= _text.Length)
            {
                break;
            }
            if (_text[_pos] == '#')
            {
                SkipToNextLine();
                continue;
            }
            ReadInstruction();
            if (_instructions.Count > MaxInstructions)
            {
                throw Error(_line, $"more than {MaxInstructions:N0} instructions");
            }
        }
        if (!_instructions.Any(i => i.Verb == ModelfileVerb.From))
        {
            throw new ModelfileException(source, 0, "no FROM instruction; a Modelfile starts from a model (FROM name or FROM path/to/model.gguf)");
        }
        return new Modelfile(_instructions, _warnings, source);
    }

    private void ReadInstruction()
    {
        int line = _line;
        string word = ReadWord(char.IsAsciiLetter);
        if (word.Length == 0)
        {
            throw Error(line, $"unexpected {Describe(_text[_pos])}; expected an instruction (FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER, LICENSE or MESSAGE)");
        }
        string upper = word.ToUpperInvariant();
        ModelfileVerb? verb = upper switch
        {
            "FROM" => ModelfileVerb.From,
            "PARAMETER" => ModelfileVerb.Parameter,
            "TEMPLATE" => ModelfileVerb.Template,
            "SYSTEM" => ModelfileVerb.System,
            "ADAPTER" => ModelfileVerb.Adapter,
            "LICENSE" or "LICENCE" => ModelfileVerb.License,
            "MESSAGE" => ModelfileVerb.Message,
            "REQUIRES" or "RENDERER" or "PARSER" => null,
            "DRAFT" => throw Error(line, "DRAFT (a draft model for speculative decoding) is not supported by Cria yet"),
            _ => throw Error(line, $"unknown instruction \"{Digest.Printable(word)}\"; expected FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER, LICENSE or MESSAGE"),
        };
        ExpectSpace(line, upper, verb is ModelfileVerb.Parameter ? "a name and a value" : verb is ModelfileVerb.Message ? "a role and a message" : "a value");

        string? key = null;
        if (verb is ModelfileVerb.Parameter)
        {
            key = ReadWord(c => char.IsAsciiLetterOrDigit(c) || c == '_').ToLowerInvariant();
            if (key.Length == 0)
            {
                throw Error(line, "PARAMETER needs a name and a value, as in: PARAMETER temperature 0.7");
            }
            ExpectSpace(line, $"PARAMETER {key}", "a value");
        }
        else if (verb is ModelfileVerb.Message)
        {
            key = ReadWord(char.IsAsciiLetter).ToLowerInvariant();
            if (key is not ("system" or "user" or "assistant"))
            {
                throw Error(line, $"MESSAGE role must be system, user or assistant, got \"{Digest.Printable(key)}\"");
            }
            ExpectSpace(line, $"MESSAGE {key}", "a message");
        }

        string value = ReadValue(line, upper);
        if (verb is null)
        {
            _warnings.Add($"{source}:{line}: {upper} is an Ollama-only instruction; Cria ignores it");
            return;
        }
        switch (verb.Value)
        {
            case ModelfileVerb.From when _instructions.Any(i => i.Verb == ModelfileVerb.From):
                throw Error(line, "a second FROM; a Modelfile has exactly one base model");
            case ModelfileVerb.From or ModelfileVerb.Adapter when value.Length == 0:
                throw Error(line, $"{upper} needs a model name or a file path");
            case ModelfileVerb.Parameter when ModelParameters.IsDeprecated(key!):
                _warnings.Add($"{source}:{line}: parameter {key} is deprecated; ignored");
                return;
            case ModelfileVerb.Parameter:
                try
                {
                    _parameters = _parameters.With(key!, value);
                }
                catch (HubException e)
                {
                    throw Error(line, e.Message);
                }
                break;
        }
        _instructions.Add(new ModelfileInstruction(verb.Value, key, value, line));
    }

    /// <summary>
    /// The value from the current position: bare (to the end of the line, trimmed) or quoted. A quoted
    /// value ends at the first line end where the trimmed text since the opening quote ends with the same
    /// quote — Ollama's rule, so <c>"""</c> blocks may contain quotes and blank lines.
    /// </summary>
    private string ReadValue(int startLine, string instruction)
    {
        int start = _pos;
        string delimiter = _text.AsSpan(start).StartsWith("\"\"\"") ? "\"\"\"" : _text.AsSpan(start).StartsWith("\"") ? "\"" : "";
        while (true)
        {
            int end = _text.IndexOf('\n', _pos);
            if (end < 0)
            {
                end = _text.Length;
            }
            int last = end;
            while (last > start && _text[last - 1] is ' ' or '\t')
            {
                last--;
            }
            _pos = Math.Min(end + 1, _text.Length);
            bool atEnd = end >= _text.Length;
            if (!atEnd)
            {
                _line++;
            }
            if (delimiter.Length == 0)
            {
                if (last == start)
                {
                    throw Error(startLine, $"{instruction} needs a value");
                }
                return _text[start..last];
            }
            int length = last - start;
            if (length >= 2 * delimiter.Length && _text.AsSpan(start, length).EndsWith(delimiter))
            {
                return _text.Substring(start + delimiter.Length, length - (2 * delimiter.Length));
            }
            if (atEnd)
            {
                throw Error(startLine, $"{instruction}: the {delimiter} opened here is never closed (a closing {delimiter} must end a line)");
            }
        }
    }

    private void ExpectSpace(int line, string what, string needs)
    {
        if (_pos >= _text.Length || _text[_pos] == '\n')
        {
            throw Error(line, $"{what} needs {needs}");
        }
        if (_text[_pos] is not (' ' or '\t'))
        {
            throw Error(line, $"unexpected {Describe(_text[_pos])} after {what}; expected a space and then {needs}");
        }
        while (_pos < _text.Length && _text[_pos] is ' ' or '\t')
        {
            _pos++;
        }
        if (_pos >= _text.Length || _text[_pos] == '\n')
        {
            throw Error(line, $"{what} needs {needs}");
        }
    }

    private string ReadWord(Func<char, bool> allowed)
    {
        int start = _pos;
        while (_pos < _text.Length && allowed(_text[_pos]))
        {
            _pos++;
            if (_pos - start > MaxWordLength)
            {
                throw Error(_line, $"a word longer than {MaxWordLength} characters where an instruction, parameter name or role was expected");
            }
        }
        return _text[start.._pos];
    }

    private void SkipBlank()
    {
        while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n')
        {
            if (_text[_pos] == '\n')
            {
                _line++;
            }
            _pos++;
        }
    }

    private void SkipToNextLine()
    {
        int end = _text.IndexOf('\n', _pos);
        _pos = end < 0 ? _text.Length : end;
    }

    /// <summary>Control characters other than tab and newline are refused up front, with their line.</summary>
    private void CheckCharacters()
    {
        int line = 1;
        foreach (char c in _text)
        {
            if (c == '\n')
            {
                line++;
            }
            else if (c != '\t' && char.IsControl(c))
            {
                throw Error(line, $"control character U+{(int)c:X4} is not allowed in a Modelfile");
            }
        }
    }

    /// <summary>CRLF and lone CR become LF (Ollama counts CRLF as two lines; line numbers here match an editor's).</summary>
    private static string Normalize(string text)
    {
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }
        return text.Contains('\r') ? text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : text;
    }

    private static string Describe(char c) => char.IsControl(c) || c == ' ' ? $"U+{(int)c:X4}" : $"'{c}'";

    private ModelfileException Error(int line, string problem) => new(source, line, problem);
}
