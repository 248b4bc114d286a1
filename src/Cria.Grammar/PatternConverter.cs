using System.Globalization;
using System.Text;

namespace Cria.Grammar;

/// <summary>
/// A JSON Schema <c>pattern</c> (ECMA-262 syntax) as GBNF for the inside of a JSON string. Supported: literal
/// characters and escapes (<c>\d \w \s \D \W \S \t \n \r \f \v \0 \xHH \uHHHH \u{H..}</c>, escaped punctuation),
/// classes <c>[...]</c> and <c>[^...]</c>, <c>.</c>, groups <c>( )</c> <c>(?: )</c> <c>(?&lt;name&gt; )</c>,
/// alternation, the quantifiers <c>* + ? {n} {n,} {n,m}</c> (lazy forms match the same strings), and
/// <c>^</c> / <c>$</c> at the very start and end. A pattern is a search, as in JSON Schema: without
/// <c>^</c> (or <c>$</c>) any characters may come before (after) the match. Characters are written the way
/// JSON needs (<c>"</c> as <c>\"</c>, control characters escaped). Anything else (back-references, lookaround,
/// word boundaries, Unicode properties) is a <see cref="GrammarException"/> naming the pattern's path.
/// </summary>
internal sealed class PatternConverter
{
    private static readonly CodePointSet s_digits = CodePointSet.FromRanges([('0', '9')]);
    private static readonly CodePointSet s_word = CodePointSet.FromRanges([('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')]);
    private static readonly CodePointSet s_space = CodePointSet.FromRanges(
        [('\t', '\r'), (' ', ' '), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]);
    private static readonly CodePointSet s_dot = CodePointSet.FromRanges([('\n', '\n'), ('\r', '\r'), (0x2028, 0x2029)]).Complement();
    private static readonly CodePointSet s_surrogates = CodePointSet.FromRanges([(0xD800, 0xDFFF)]);

    private readonly string _re;
    private readonly string _path;
    private readonly Func<CodePointSet, string> _classRule;
    private int _pos;
    private int _depth;

    private PatternConverter(string pattern, string path, Func<CodePointSet, string> classRule)
    {
        _re = pattern;
        _path = path;
        _classRule = classRule;
    }

    /// <param name="pattern">The regular expression.</param>
    /// <param name="path">Its JSON pointer, for errors.</param>
    /// <param name="anyChar">The rule for any JSON string character (for unanchored ends).</param>
    /// <param name="classRule">Names a rule for a set of characters, written as JSON string content.</param>
    public static string Convert(string pattern, string path, string anyChar, Func<CodePointSet, string> classRule)
    {
        var c = new PatternConverter(pattern, path, classRule);
        bool start = pattern.StartsWith('^');
        if (start)
        {
            c._pos = 1;
        }
        (string body, _) = c.ParseAlternation(topLevel: true);
        bool end = c._pos < pattern.Length && pattern[c._pos] == '$' && c._pos == pattern.Length - 1;
        if (end)
        {
            c._pos++;
        }
        if (c._pos < pattern.Length)
        {
            throw c.Error(pattern[c._pos] == ')' ? "unbalanced ')'" : pattern[c._pos] == '$' ? "'$' is only supported at the end" : $"unexpected '{pattern[c._pos]}'");
        }
        return $"{(start ? "" : anyChar + "* ")}{body}{(end ? "" : " " + anyChar + "*")}";
    }

    private char Current => _pos < _re.Length ? _re[_pos] : '\0';

    private bool AtEnd => _pos >= _re.Length;

    private (string Gbnf, bool Nullable) ParseAlternation(bool topLevel)
    {
        var alternatives = new List<string>();
        bool nullable = false;
        while (true)
        {
            (string seq, bool seqNullable) = ParseSequence(topLevel);
            alternatives.Add(seq);
            nullable |= seqNullable;
            if (Current != '|')
            {
                break;
            }
            _pos++;
        }
        return alternatives.Count == 1 ? (alternatives[0], nullable) : ("(" + string.Join(" | ", alternatives) + ")", nullable);
    }

    private (string Gbnf, bool Nullable) ParseSequence(bool topLevel)
    {
        var items = new List<string>();
        bool nullable = true;
        while (!AtEnd && Current is not ('|' or ')'))
        {
            if (Current == '$' && topLevel && _pos == _re.Length - 1)
            {
                break;
            }
            (string atom, bool atomNullable) = ParseAtom();
            (atom, atomNullable) = ParseQuantifier(atom, atomNullable);
            items.Add(atom);
            nullable &= atomNullable;
        }
        return (items.Count == 0 ? "\"\"" : string.Join(" ", items), nullable);
    }

    private (string Gbnf, bool Nullable) ParseQuantifier(string atom, bool nullable)
    {
        int start = _pos;
        int min, max;
        switch (Current)
        {
            case '*':
                (min, max) = (0, -1);
                _pos++;
                break;
            case '+':
                (min, max) = (1, -1);
                _pos++;
                break;
            case '?':
                (min, max) = (0, 1);
                _pos++;
                break;
            case '{' when TryParseBraces(out min, out max):
                break;
            default:
                return (atom, nullable);
        }
        if (Current == '?')
        {
            _pos++; // lazy: the same strings match
        }
        if (Current is '*' or '+' or '?' || (Current == '{' && TryParseBraces(out _, out _)))
        {
            throw Error("a quantifier cannot follow a quantifier");
        }
        if (max < 0 && nullable)
        {
            _pos = start;
            throw Error("repeating something that can match the empty string is not supported");
        }
        string q = (min, max) switch
        {
            (0, -1) => "*",
            (1, -1) => "+",
            (0, 1) => "?",
            (_, -1) => $"{{{min},}}",
            _ when min == max => $"{{{min}}}",
            _ => $"{{{min},{max}}}",
        };
        return ($"({atom}){q}", nullable || min == 0);
    }

    private bool TryParseBraces(out int min, out int max)
    {
        min = max = 0;
        int p = _pos + 1;
        if (!ReadDigits(ref p, out int a))
        {
            return false;
        }
        int b = a;
        if (p < _re.Length && _re[p] == ',')
        {
            p++;
            if (p < _re.Length && _re[p] == '}')
            {
                b = -1;
            }
            else if (!ReadDigits(ref p, out b))
            {
                return false;
            }
        }
        if (p >= _re.Length || _re[p] != '}')
        {
            return false;
        }
        if (a > GrammarLimits.MaxRepetition || b > GrammarLimits.MaxRepetition)
        {
            throw Error($"a repetition count above {GrammarLimits.MaxRepetition}");
        }
        if (b >= 0 && b < a)
        {
            throw Error($"repetition {{{a},{b}}} has its maximum below its minimum");
        }
        _pos = p + 1;
        (min, max) = (a, b);
        return true;
    }

    /// <summary>Reads decimal digits at <paramref name="p"/> (the value capped at int.MaxValue); false when there are none.</summary>
    private bool ReadDigits(ref int p, out int value)
    {
        int start = p;
        long v = 0;
        while (p < _re.Length && char.IsAsciiDigit(_re[p]))
        {
            v = Math.Min(v * 10 + (_re[p] - '0'), int.MaxValue);
            p++;
        }
        value = (int)v;
        return p > start;
    }

    private (string Gbnf, bool Nullable) ParseAtom()
    {
        char c = Current;
        switch (c)
        {
            case '(':
                return ParseGroup();
            case '[':
                return (Class(ParseClass()), false);
            case '.':
                _pos++;
                return (Class(s_dot), false);
            case '\\':
                _pos++;
                return (Class(ParseEscape(inClass: false)), false);
            case '^':
                throw Error("'^' is only supported at the start");
            case '$':
                throw Error("'$' is only supported at the end");
            case '*' or '+' or '?':
                throw Error($"'{c}' has nothing to repeat");
            case '{' when TryPeekBraces():
                throw Error("'{' has nothing to repeat");
            default:
                int cp = ReadRawCodePoint();
                return (Class(CodePointSet.Single(cp)), false);
        }
    }

    private bool TryPeekBraces()
    {
        int saved = _pos;
        bool ok = TryParseBraces(out _, out _);
        _pos = saved;
        return ok;
    }

    private (string Gbnf, bool Nullable) ParseGroup()
    {
        int start = _pos;
        _pos++;
        if (Current == '?')
        {
            if (_pos + 1 < _re.Length && _re[_pos + 1] == ':')
            {
                _pos += 2;
            }
            else if (_pos + 1 < _re.Length && _re[_pos + 1] == '<' && _pos + 2 < _re.Length && _re[_pos + 2] is not ('=' or '!'))
            {
                int close = _re.IndexOf('>', _pos);
                if (close < 0)
                {
                    throw Error("unterminated group name");
                }
                _pos = close + 1;
            }
            else
            {
                throw Error("lookahead, lookbehind and other (?...) groups are not supported");
            }
        }
        if (++_depth > GrammarLimits.MaxNesting / 2)
        {
            throw Error($"groups nest deeper than {GrammarLimits.MaxNesting / 2}");
        }
        (string inner, bool nullable) = ParseAlternation(topLevel: false);
        _depth--;
        if (Current != ')')
        {
            _pos = start;
            throw Error("unterminated group");
        }
        _pos++;
        return ($"({inner})", nullable);
    }

    private CodePointSet ParseClass()
    {
        int start = _pos;
        _pos++; // [
        bool negated = Current == '^';
        if (negated)
        {
            _pos++;
        }
        var set = CodePointSet.Empty;
        while (Current != ']')
        {
            if (AtEnd)
            {
                _pos = start;
                throw Error("unterminated character class");
            }
            CodePointSet lo = ClassAtom();
            if (Current == '-' && _pos + 1 < _re.Length && _re[_pos + 1] != ']')
            {
                _pos++;
                CodePointSet hi = ClassAtom();
                if (lo.RangeCount != 1 || hi.RangeCount != 1 || lo.Range(0).Lo != lo.Range(0).Hi || hi.Range(0).Lo != hi.Range(0).Hi)
                {
                    throw Error("a class escape cannot bound a range");
                }
                if (hi.Range(0).Lo < lo.Range(0).Lo)
                {
                    throw Error("a character range runs backwards");
                }
                set = set.Union(CodePointSet.FromRanges([(lo.Range(0).Lo, hi.Range(0).Lo)]));
            }
            else
            {
                set = set.Union(lo);
            }
        }
        _pos++; // ]
        return negated ? set.Complement() : set;
    }

    private CodePointSet ClassAtom()
    {
        if (Current == '\\')
        {
            _pos++;
            return ParseEscape(inClass: true);
        }
        return CodePointSet.Single(ReadRawCodePoint());
    }

    private int ReadRawCodePoint()
    {
        char c = _re[_pos];
        if (char.IsHighSurrogate(c) && _pos + 1 < _re.Length && char.IsLowSurrogate(_re[_pos + 1]))
        {
            _pos += 2;
            return char.ConvertToUtf32(c, _re[_pos - 1]);
        }
        _pos++;
        return c;
    }

    private CodePointSet ParseEscape(bool inClass)
    {
        if (AtEnd)
        {
            throw Error("'\\' at the end of the pattern");
        }
        char e = _re[_pos++];
        switch (e)
        {
            case 'd':
                return s_digits;
            case 'D':
                return s_digits.Complement();
            case 'w':
                return s_word;
            case 'W':
                return s_word.Complement();
            case 's':
                return s_space;
            case 'S':
                return s_space.Complement();
            case 't':
                return CodePointSet.Single('\t');
            case 'n':
                return CodePointSet.Single('\n');
            case 'r':
                return CodePointSet.Single('\r');
            case 'f':
                return CodePointSet.Single('\f');
            case 'v':
                return CodePointSet.Single('\v');
            case '0' when !char.IsAsciiDigit(Current):
                return CodePointSet.Single(0);
            case 'b' when inClass:
                return CodePointSet.Single('\b');
            case 'x':
                return CodePointSet.Single(ReadHex(2));
            case 'u' when Current == '{':
                int close = _re.IndexOf('}', _pos);
                if (close < 0 || close - _pos - 1 is < 1 or > 6
                    || !int.TryParse(_re.AsSpan(_pos + 1, close - _pos - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int big)
                    || big > CodePointSet.MaxCodePoint)
                {
                    throw Error("bad \\u{...} escape");
                }
                _pos = close + 1;
                return CodePointSet.Single(big);
            case 'u':
                int unit = ReadHex(4);
                if (unit is >= 0xD800 and <= 0xDBFF && _pos + 6 <= _re.Length && _re[_pos] == '\\' && _re[_pos + 1] == 'u')
                {
                    int saved = _pos;
                    _pos += 2;
                    int low = ReadHex(4);
                    if (low is >= 0xDC00 and <= 0xDFFF)
                    {
                        return CodePointSet.Single(char.ConvertToUtf32((char)unit, (char)low));
                    }
                    _pos = saved;
                }
                return CodePointSet.Single(unit);
            case 'b' or 'B':
                throw Error("word boundaries (\\b, \\B) are not supported");
            case >= '1' and <= '9' or 'k':
                throw Error("back-references are not supported");
            case 'p' or 'P':
                throw Error("Unicode property escapes are not supported");
            case 'c':
                throw Error("control escapes (\\c) are not supported");
            default:
                if (char.IsAsciiLetterOrDigit(e))
                {
                    throw Error($"unknown escape '\\{e}'");
                }
                _pos--;
                return CodePointSet.Single(ReadRawCodePoint());
        }
    }

    private int ReadHex(int digits)
    {
        if (_pos + digits > _re.Length
            || !int.TryParse(_re.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
        {
            throw Error($"an escape needs {digits} hex digits");
        }
        _pos += digits;
        return value;
    }

    /// <summary>A set of characters as JSON string content: plain characters as a class, the rest escaped.</summary>
    private string Class(CodePointSet set) =>
        set.Except(s_surrogates).IsEmpty ? throw Error("a character class that matches no character") : _classRule(set);

    private GrammarException Error(string message) =>
        new($"pattern {Quote(_re)}: {message} (at character {_pos + 1})", _path);

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s.Length > 80 ? s[..80] + "…" : s)
        {
            sb.Append(c is '"' or '\\' ? "\\" + c : c < ' ' ? "?" : c.ToString());
        }
        return sb.Append('"').ToString();
    }
}
