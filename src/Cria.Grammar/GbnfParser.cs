using System.Globalization;

namespace Cria.Grammar;

/// <summary>
/// Reads GBNF, llama.cpp's grammar format (grammars/README.md there): <c>name ::= alternatives</c> rules,
/// one per line (a rule goes on across lines inside parentheses and after <c>|</c>), string literals,
/// character classes <c>[a-z]</c> and <c>[^...]</c>, <c>.</c>, groups, the quantifiers <c>* + ?</c> and
/// <c>{m} {m,} {m,n}</c>, and <c>#</c> comments. Escapes: <c>\n \r \t \\ \" \[ \] \- \^ \xHH \uHHHH \UHHHHHHHH</c>.
/// Names are letters, digits, '-' and '_'. Every error is a <see cref="GrammarException"/> with line and column.
/// </summary>
internal sealed class GbnfParser
{
    private readonly string _src;
    private int _pos;
    private int _depth;

    private GbnfParser(string source)
    {
        _src = source;
    }

    public static List<GbnfRule> Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Length > GrammarLimits.MaxSourceLength)
        {
            throw new GrammarException($"the grammar is {source.Length} characters long; at most {GrammarLimits.MaxSourceLength} are allowed");
        }
        return new GbnfParser(source).ParseRules();
    }

    /// <summary>1-based line and column of a source offset.</summary>
    public static (int Line, int Column) LineColumn(string source, int position)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < position && i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return (line, position - lineStart + 1);
    }

    private bool AtEnd => _pos >= _src.Length;

    private char Current => _pos < _src.Length ? _src[_pos] : '\0';

    private List<GbnfRule> ParseRules()
    {
        var rules = new List<GbnfRule>();
        SkipSpace(newlines: true);
        while (!AtEnd)
        {
            int start = _pos;
            if (!IsNameChar(Current))
            {
                throw Error($"expected a rule name, found {Describe(Current)}");
            }
            string name = ParseName();
            SkipSpace(newlines: false);
            if (string.CompareOrdinal(_src, _pos, "::=", 0, 3) != 0)
            {
                throw Error($"expected ::= after the rule name '{name}'");
            }
            _pos += 3;
            SkipSpace(newlines: true);
            GbnfChoice body = ParseAlternatives(nested: false);
            rules.Add(new GbnfRule(name, start, body));
            if (!AtEnd)
            {
                if (Current == '\r')
                {
                    _pos++;
                }
                if (Current != '\n')
                {
                    throw Error($"unexpected {Describe(Current)}");
                }
            }
            SkipSpace(newlines: true);
        }
        return rules;
    }

    private GbnfChoice ParseAlternatives(bool nested)
    {
        int start = _pos;
        var alternatives = new List<GbnfSequence> { ParseSequence(nested) };
        while (Current == '|')
        {
            _pos++;
            SkipSpace(newlines: true);
            alternatives.Add(ParseSequence(nested));
        }
        return new GbnfChoice(start, alternatives);
    }

    private GbnfSequence ParseSequence(bool nested)
    {
        int start = _pos;
        var items = new List<GbnfExpr>();
        while (!AtEnd)
        {
            int itemStart = _pos;
            GbnfExpr item;
            char c = Current;
            if (c == '"')
            {
                item = ParseLiteral();
            }
            else if (c == '[')
            {
                item = ParseClass();
            }
            else if (c == '.')
            {
                _pos++;
                item = new GbnfChars(itemStart, CodePointSet.All);
            }
            else if (IsNameChar(c))
            {
                item = new GbnfRef(itemStart, ParseName());
            }
            else if (c == '(')
            {
                if (++_depth > GrammarLimits.MaxNesting)
                {
                    throw Error($"parentheses nest deeper than {GrammarLimits.MaxNesting}");
                }
                _pos++;
                SkipSpace(newlines: true);
                item = ParseAlternatives(nested: true);
                if (Current != ')')
                {
                    throw Error(AtEnd ? "missing ')' at the end of the grammar" : $"expected ')', found {Describe(Current)}");
                }
                _pos++;
                _depth--;
            }
            else if (c is '*' or '+' or '?' or '{')
            {
                throw Error($"'{c}' must follow something to repeat");
            }
            else
            {
                break;
            }
            SkipSpace(nested);
            if (Current is '*' or '+' or '?' or '{')
            {
                item = ParseQuantifier(item, itemStart);
                SkipSpace(nested);
            }
            items.Add(item);
        }
        return new GbnfSequence(start, items);
    }

    private GbnfRepeat ParseQuantifier(GbnfExpr item, int start)
    {
        char q = Current;
        _pos++;
        switch (q)
        {
            case '*':
                return new GbnfRepeat(start, item, 0, -1);
            case '+':
                return new GbnfRepeat(start, item, 1, -1);
            case '?':
                return new GbnfRepeat(start, item, 0, 1);
        }
        SkipSpace(newlines: true);
        int min = ParseCount();
        int max = min;
        SkipSpace(newlines: true);
        if (Current == ',')
        {
            _pos++;
            SkipSpace(newlines: true);
            max = Current == '}' ? -1 : ParseCount();
            SkipSpace(newlines: true);
        }
        if (Current != '}')
        {
            throw Error($"expected '}}' to close the repetition, found {Describe(Current)}");
        }
        _pos++;
        if (max >= 0 && max < min)
        {
            throw ErrorAt(start, $"repetition {{{min},{max}}} has its maximum below its minimum");
        }
        return new GbnfRepeat(start, item, min, max);
    }

    private int ParseCount()
    {
        int start = _pos;
        while (char.IsAsciiDigit(Current))
        {
            _pos++;
        }
        if (_pos == start)
        {
            throw Error($"expected a number in the repetition, found {Describe(Current)}");
        }
        if (_pos - start > 9 || int.Parse(_src.AsSpan(start, _pos - start), CultureInfo.InvariantCulture) > GrammarLimits.MaxRepetition)
        {
            throw ErrorAt(start, $"repetition count {_src[start.._pos]} is above the limit of {GrammarLimits.MaxRepetition}");
        }
        return int.Parse(_src.AsSpan(start, _pos - start), CultureInfo.InvariantCulture);
    }

    private GbnfLiteral ParseLiteral()
    {
        int start = _pos;
        _pos++; // opening quote
        var cps = new List<int>();
        while (true)
        {
            if (AtEnd || Current is '\n' or '\r')
            {
                throw ErrorAt(start, "unterminated string literal");
            }
            if (Current == '"')
            {
                _pos++;
                return new GbnfLiteral(start, [.. cps]);
            }
            cps.Add(ParseChar());
        }
    }

    private GbnfChars ParseClass()
    {
        int start = _pos;
        _pos++; // [
        bool negated = false;
        if (Current == '^')
        {
            negated = true;
            _pos++;
        }
        var ranges = new List<(int, int)>();
        while (Current != ']')
        {
            if (AtEnd || Current is '\n' or '\r')
            {
                throw ErrorAt(start, "unterminated character class");
            }
            int rangeStart = _pos;
            int lo = ParseChar();
            int hi = lo;
            if (Current == '-' && _pos + 1 < _src.Length && _src[_pos + 1] != ']')
            {
                _pos++;
                if (AtEnd || Current is '\n' or '\r')
                {
                    throw ErrorAt(start, "unterminated character class");
                }
                hi = ParseChar();
                if (hi < lo)
                {
                    throw ErrorAt(rangeStart, $"character range {_src[rangeStart.._pos]} runs backwards");
                }
            }
            ranges.Add((lo, hi));
        }
        _pos++; // ]
        CodePointSet set = CodePointSet.FromRanges(ranges);
        return new GbnfChars(start, negated ? set.Complement() : set);
    }

    /// <summary>One code point of a literal or class, escaped or not.</summary>
    private int ParseChar()
    {
        char c = Current;
        if (c != '\\')
        {
            if (char.IsHighSurrogate(c) && _pos + 1 < _src.Length && char.IsLowSurrogate(_src[_pos + 1]))
            {
                _pos += 2;
                return char.ConvertToUtf32(c, _src[_pos - 1]);
            }
            _pos++;
            return c;
        }
        int start = _pos;
        _pos++;
        char e = Current;
        _pos++;
        switch (e)
        {
            case 'n':
                return '\n';
            case 'r':
                return '\r';
            case 't':
                return '\t';
            case '\\' or '"' or '[' or ']' or '-' or '^':
                return e;
            case 'x':
                return ParseHex(start, 2);
            case 'u':
                return ParseHex(start, 4);
            case 'U':
                return ParseHex(start, 8);
            default:
                throw ErrorAt(start, AtEnd && e == '\0' ? "escape at the end of the grammar" : $"unknown escape '\\{e}'");
        }
    }

    private int ParseHex(int start, int digits)
    {
        int value = 0;
        for (int i = 0; i < digits; i++)
        {
            int d = HexValue(Current);
            if (d < 0)
            {
                throw ErrorAt(start, $"escape {_src[start..Math.Min(_pos + 1, _src.Length)]} needs {digits} hex digits");
            }
            value = (value << 4) | d;
            _pos++;
        }
        if ((uint)value > CodePointSet.MaxCodePoint)
        {
            throw ErrorAt(start, $"escape {_src[start.._pos]} is beyond U+10FFFF");
        }
        return value;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private string ParseName()
    {
        int start = _pos;
        while (IsNameChar(Current))
        {
            _pos++;
        }
        return _src[start.._pos];
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    /// <summary>Skips spaces, tabs and comments; and line breaks too when <paramref name="newlines"/>.</summary>
    private void SkipSpace(bool newlines)
    {
        while (!AtEnd)
        {
            char c = Current;
            if (c is ' ' or '\t' || (newlines && c is '\r' or '\n'))
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (!AtEnd && Current is not ('\r' or '\n'))
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private static string Describe(char c) => c switch
    {
        '\0' => "the end of the grammar",
        '\n' or '\r' => "the end of the line",
        _ => $"'{c}'",
    };

    private GrammarException Error(string message) => ErrorAt(_pos, message);

    private GrammarException ErrorAt(int position, string message)
    {
        (int line, int column) = LineColumn(_src, position);
        return new GrammarException(message, line, column);
    }
}
