namespace Cria.Templates;

/// <summary>
/// Turns template source into tokens, settling whitespace control on the way as Jinja2's lexer
/// does: a <c>-</c> inside a delimiter strips all whitespace on that side; <c>trim_blocks</c> drops
/// the first newline after a block or comment; <c>lstrip_blocks</c> drops the indentation before a
/// block or comment that starts a line, unless the tag opens with <c>{%+</c>. Newlines are
/// normalized to <c>\n</c> and one trailing newline is dropped (Jinja2's defaults).
/// </summary>
internal sealed partial class Lexer
{
    private enum TagKind
    {
        Variable,
        Block,
        Comment,
    }

    /// <summary>Either plain text or one tag with its whitespace-control marks.</summary>
    private sealed class Segment
    {
        public bool IsTag;
        public string Text = "";
        public int Offset;
        public TagKind Kind;
        public bool LeftStrip;
        public bool LeftPlus;
        public bool RightStrip;
        public bool RightPlus;
        public bool NoTrimAfter;
        public List<Token>? Inner;
        public int CloseOffset;
    }

    private static readonly string[] s_twoCharOperators = ["//", "**", "==", "!=", "<=", ">="];
    private const string SingleCharOperators = "+-*/%~()[]{},.:|=<>;";

    private readonly string _src;
    private readonly TemplateOptions _options;
    private readonly List<int> _lineStarts = [0];

    private Lexer(string source, TemplateOptions options)
    {
        string src = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        if (!options.KeepTrailingNewline && src.EndsWith('\n'))
        {
            src = src[..^1];
        }
        _src = src;
        _options = options;
        for (int i = 0; i < src.Length; i++)
        {
            if (src[i] == '\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    public static List<Token> Tokenize(string source, TemplateOptions options) =>
        new Lexer(source, options).Run();

    private List<Token> Run()
    {
        List<Segment> segments = Split();
        var tokens = new List<Token>();
        for (int i = 0; i < segments.Count; i++)
        {
            Segment seg = segments[i];
            if (!seg.IsTag)
            {
                string text = ApplyWhitespaceControl(segments, i);
                if (text.Length > 0)
                {
                    (int line, int col) = Locate(seg.Offset);
                    tokens.Add(new Token(TokenKind.Text, text, line, col));
                }
                continue;
            }
            if (seg.Inner is null)
            {
                continue;
            }
            (int bl, int bc) = Locate(seg.Offset);
            (int el, int ec) = Locate(seg.CloseOffset);
            bool block = seg.Kind == TagKind.Block;
            tokens.Add(new Token(block ? TokenKind.BlockBegin : TokenKind.VariableBegin, block ? "{%" : "{{", bl, bc));
            tokens.AddRange(seg.Inner);
            tokens.Add(new Token(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, block ? "%}" : "}}", el, ec));
        }
        (int endLine, int endCol) = Locate(_src.Length);
        tokens.Add(new Token(TokenKind.End, "", endLine, endCol));
        return tokens;
    }

    private string ApplyWhitespaceControl(List<Segment> segments, int i)
    {
        string text = segments[i].Text;
        Segment? prev = i > 0 ? segments[i - 1] : null;
        Segment? next = i + 1 < segments.Count ? segments[i + 1] : null;

        // Jinja2's "line_starting": the text begins a line when the template starts here or the
        // previous tag's end swallowed a newline.
        bool lineStart = prev is null;
        if (prev is not null)
        {
            if (prev.RightStrip)
            {
                int k = 0;
                while (k < text.Length && char.IsWhiteSpace(text[k]))
                {
                    k++;
                }
                lineStart = k > 0 && text[k - 1] == '\n';
                text = text[k..];
            }
            else if (_options.TrimBlocks && prev.Kind != TagKind.Variable && !prev.RightPlus && !prev.NoTrimAfter
                && text.StartsWith('\n'))
            {
                text = text[1..];
                lineStart = true;
            }
        }
        if (next is not null)
        {
            if (next.LeftStrip)
            {
                text = text.TrimEnd();
            }
            else if (_options.LstripBlocks && !next.LeftPlus
                && (next.Kind != TagKind.Variable || _options.LstripVariableTags))
            {
                int l = text.LastIndexOf('\n') + 1;
                if ((l > 0 || lineStart) && l < text.Length && IsAllWhitespace(text, l))
                {
                    text = text[..l];
                }
            }
        }
        return text;
    }

    private static bool IsAllWhitespace(string text, int from)
    {
        for (int i = from; i < text.Length; i++)
        {
            if (!char.IsWhiteSpace(text[i]))
            {
                return false;
            }
        }
        return true;
    }

    private List<Segment> Split()
    {
        var segments = new List<Segment>();
        int pos = 0;
        while (pos < _src.Length)
        {
            int open = FindTagStart(pos);
            if (open < 0)
            {
                segments.Add(new Segment { Text = _src[pos..], Offset = pos });
                break;
            }
            if (open > pos)
            {
                segments.Add(new Segment { Text = _src[pos..open], Offset = pos });
            }
            var tag = new Segment { IsTag = true, Offset = open };
            tag.Kind = _src[open + 1] switch
            {
                '{' => TagKind.Variable,
                '%' => TagKind.Block,
                _ => TagKind.Comment,
            };
            int p = open + 2;
            if (p < _src.Length && _src[p] == '-')
            {
                tag.LeftStrip = true;
                p++;
            }
            else if (p < _src.Length && _src[p] == '+')
            {
                tag.LeftPlus = true;
                p++;
            }
            if (tag.Kind == TagKind.Comment)
            {
                int close = _src.IndexOf("#}", p, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw Error(open, "unclosed comment: missing '#}'");
                }
                tag.RightStrip = close > p && _src[close - 1] == '-';
                tag.CloseOffset = close;
                segments.Add(tag);
                pos = close + 2;
                continue;
            }
            tag.Inner = TokenizeTag(ref p, tag);
            segments.Add(tag);
            pos = p;
            if (tag.Kind == TagKind.Block && tag.Inner.Count == 1 && tag.Inner[0].IsName("raw"))
            {
                pos = SplitRaw(segments, tag, pos);
            }
        }
        return segments;
    }

    /// <summary>Turns <c>{% raw %}…{% endraw %}</c> into tag, verbatim text, tag; returns the offset after endraw.</summary>
    private int SplitRaw(List<Segment> segments, Segment rawTag, int contentStart)
    {
        rawTag.Inner = null;
        rawTag.NoTrimAfter = true;
        int search = contentStart;
        while (true)
        {
            int open = _src.IndexOf("{%", search, StringComparison.Ordinal);
            if (open < 0)
            {
                throw Error(rawTag.Offset, "missing '{% endraw %}' for this raw block");
            }
            var end = new Segment { IsTag = true, Kind = TagKind.Block, Offset = open };
            int p = open + 2;
            if (p < _src.Length && (_src[p] == '-' || _src[p] == '+'))
            {
                end.LeftStrip = _src[p] == '-';
                end.LeftPlus = _src[p] == '+';
                p++;
            }
            p = SkipSpaces(p);
            if (string.CompareOrdinal(_src, p, "endraw", 0, 6) != 0)
            {
                search = open + 2;
                continue;
            }
            p = SkipSpaces(p + 6);
            if (p < _src.Length && (_src[p] == '-' || _src[p] == '+'))
            {
                end.RightStrip = _src[p] == '-';
                end.RightPlus = _src[p] == '+';
                p++;
            }
            if (string.CompareOrdinal(_src, p, "%}", 0, 2) != 0)
            {
                throw Error(p, "expected '%}' after 'endraw'");
            }
            end.CloseOffset = p;
            segments.Add(new Segment { Text = _src[contentStart..open], Offset = contentStart });
            segments.Add(end);
            return p + 2;
        }
    }

    private int SkipSpaces(int p)
    {
        while (p < _src.Length && char.IsWhiteSpace(_src[p]))
        {
            p++;
        }
        return p;
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
        {
            char c = _src[i + 1];
            if (c == '{' || c == '%' || c == '#')
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Tokens inside <c>{{ }}</c> or <c>{% %}</c>; the closing delimiter only counts outside brackets.</summary>
    private List<Token> TokenizeTag(ref int p, Segment tag)
    {
        var tokens = new List<Token>();
        var brackets = new Stack<char>();
        string close = tag.Kind == TagKind.Block ? "%}" : "}}";
        while (true)
        {
            p = SkipSpaces(p);
            if (p >= _src.Length)
            {
                throw Error(tag.Offset, $"unclosed tag: missing '{close}'");
            }
            if (brackets.Count == 0)
            {
                if (_src[p] == '-' && string.CompareOrdinal(_src, p + 1, close, 0, 2) == 0)
                {
                    tag.RightStrip = true;
                    tag.CloseOffset = p;
                    p += 3;
                    return tokens;
                }
                if (_src[p] == '+' && tag.Kind == TagKind.Block && string.CompareOrdinal(_src, p + 1, close, 0, 2) == 0)
                {
                    tag.RightPlus = true;
                    tag.CloseOffset = p;
                    p += 3;
                    return tokens;
                }
                if (string.CompareOrdinal(_src, p, close, 0, 2) == 0)
                {
                    tag.CloseOffset = p;
                    p += 2;
                    return tokens;
                }
            }
            (int line, int col) = Locate(p);
            char c = _src[p];
            if (char.IsLetter(c) || c == '_')
            {
                int start = p;
                while (p < _src.Length && (char.IsLetterOrDigit(_src[p]) || _src[p] == '_'))
                {
                    p++;
                }
                tokens.Add(new Token(TokenKind.Name, _src[start..p], line, col));
            }
            else if (char.IsAsciiDigit(c))
            {
                tokens.Add(LexNumber(ref p, line, col));
            }
            else if (c == '\'' || c == '"')
            {
                tokens.Add(new Token(TokenKind.String, LexString(ref p), line, col));
            }
            else
            {
                string? op = null;
                foreach (string two in s_twoCharOperators)
                {
                    if (string.CompareOrdinal(_src, p, two, 0, 2) == 0)
                    {
                        op = two;
                        break;
                    }
                }
                if (op is null && SingleCharOperators.Contains(c, StringComparison.Ordinal))
                {
                    op = c.ToString();
                }
                if (op is null)
                {
                    throw Error(p, $"unexpected character '{c}'");
                }
                TrackBrackets(brackets, c, p);
                tokens.Add(new Token(TokenKind.Operator, op, line, col));
                p += op.Length;
            }
        }
    }

    private void TrackBrackets(Stack<char> brackets, char c, int p)
    {
        switch (c)
        {
            case '(':
                brackets.Push(')');
                break;
            case '[':
                brackets.Push(']');
                break;
            case '{':
                brackets.Push('}');
                break;
            case ')' or ']' or '}':
                if (brackets.Count == 0 || brackets.Peek() != c)
                {
                    string expected = brackets.Count == 0 ? "" : $", expected '{brackets.Peek()}'";
                    throw Error(p, $"unexpected '{c}'{expected}");
                }
                brackets.Pop();
                break;
            default:
                break;
        }
    }

    private (int Line, int Column) Locate(int offset)
    {
        int index = _lineStarts.BinarySearch(offset);
        int line = index >= 0 ? index : ~index - 1;
        return (line + 1, offset - _lineStarts[line] + 1);
    }

    private TemplateException Error(int offset, string reason)
    {
        (int line, int col) = Locate(offset);
        return new TemplateException(TemplateErrorKind.Syntax, reason, line, col);
    }
}
