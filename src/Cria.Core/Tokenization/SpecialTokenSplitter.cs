using System.Buffers;
using System.Text;

namespace Cria.Core.Tokenization;

/// <summary>
/// Cuts special tokens out of the text before it is tokenized, as llama.cpp's
/// <c>tokenizer_st_partition</c> does: the special tokens are taken longest first, and each one is
/// cut out of every text fragment left by the ones before it. Control and unknown tokens are
/// matched only when the caller asks to parse special tokens; user-defined tokens always are
/// (as Hugging Face tokenizers do with non-special added tokens). A token marked to strip on the
/// left or right also swallows the ASCII whitespace on that side.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    private readonly string[] _texts;          // [vocab] token text
    private readonly int[] _all;               // control, user-defined and unknown ids, longest first
    private readonly int[] _userDefined;       // the user-defined ones, longest first
    private readonly bool[] _stripLeft;        // [vocab]
    private readonly bool[] _stripRight;       // [vocab]
    private readonly SearchValues<char> _allFirst;
    private readonly SearchValues<char> _userFirst;
    private readonly Dictionary<char, int[]> _allByFirst;  // first char -> indices into _all
    private readonly Dictionary<char, int[]> _userByFirst; // first char -> indices into _userDefined

    public SpecialTokenSplitter(string[] texts, TokenType[] types, bool[] stripLeft, bool[] stripRight)
    {
        _texts = texts;
        _stripLeft = stripLeft;
        _stripRight = stripRight;
        var all = new List<int>();
        var user = new List<int>();
        for (int id = 0; id < texts.Length; id++)
        {
            if (texts[id].Length == 0)
            {
                continue;
            }
            if (types[id] is TokenType.Control or TokenType.Unknown or TokenType.UserDefined)
            {
                all.Add(id);
            }
            if (types[id] == TokenType.UserDefined)
            {
                user.Add(id);
            }
        }
        // llama.cpp sorts by UTF-8 length, longest first; equal lengths keep id order here
        Comparison<int> longestFirst = (a, b) =>
        {
            int c = Encoding.UTF8.GetByteCount(texts[b]).CompareTo(Encoding.UTF8.GetByteCount(texts[a]));
            return c != 0 ? c : a.CompareTo(b);
        };
        all.Sort(longestFirst);
        user.Sort(longestFirst);
        _all = [.. all];
        _userDefined = [.. user];
        _allByFirst = ByFirstChar(_all, texts);
        _userByFirst = ByFirstChar(_userDefined, texts);
        _allFirst = SearchValues.Create([.. _allByFirst.Keys]);
        _userFirst = SearchValues.Create([.. _userByFirst.Keys]);
    }

    /// <summary>Cuts <paramref name="text"/> into fragments, in order; a text without special tokens is one fragment.</summary>
    public void Split(ReadOnlySpan<char> text, bool parseSpecial, List<TextFragment> output)
    {
        output.Clear();
        if (text.IsEmpty)
        {
            return;
        }
        output.Add(new TextFragment(0, text.Length, -1));
        int[] candidates = parseSpecial ? _all : _userDefined;
        if (candidates.Length == 0)
        {
            return;
        }
        bool[] present = parseSpecial
            ? FindPresent(text, candidates, _allFirst, _allByFirst)
            : FindPresent(text, candidates, _userFirst, _userByFirst);
        List<TextFragment> current = output;
        List<TextFragment>? scratch = null;
        for (int c = 0; c < candidates.Length; c++)
        {
            if (present[c])
            {
                scratch ??= [];
                CutOut(text, candidates[c], current, scratch);
                (current, scratch) = (scratch, current);
            }
        }
        if (!ReferenceEquals(current, output))
        {
            output.Clear();
            output.AddRange(current);
        }
    }

    /// <summary>
    /// Which candidates occur anywhere in the text. Every fragment is a substring of the text, so a
    /// token absent from the text is absent from all of them and its pass can be skipped.
    /// </summary>
    private bool[] FindPresent(ReadOnlySpan<char> text, int[] candidates, SearchValues<char> firstChars, Dictionary<char, int[]> byFirst)
    {
        var present = new bool[candidates.Length];
        int remaining = candidates.Length;
        int pos = 0;
        while (remaining > 0)
        {
            int hit = text[pos..].IndexOfAny(firstChars);
            if (hit < 0)
            {
                break;
            }
            pos += hit;
            ReadOnlySpan<char> rest = text[pos..];
            foreach (int c in byFirst[text[pos]])
            {
                if (!present[c] && rest.StartsWith(_texts[candidates[c]], StringComparison.Ordinal))
                {
                    present[c] = true;
                    remaining--;
                }
            }
            pos++;
        }
        return present;
    }

    private void CutOut(ReadOnlySpan<char> text, int id, List<TextFragment> input, List<TextFragment> output)
    {
        output.Clear();
        string token = _texts[id];
        foreach (TextFragment f in input)
        {
            if (!f.IsText)
            {
                output.Add(f);
                continue;
            }
            int start = f.Start;
            int end = f.Start + f.Length;
            while (start < end)
            {
                int at = text[start..end].IndexOf(token, StringComparison.Ordinal);
                if (at < 0)
                {
                    break;
                }
                at += start;
                int leftEnd = at;
                if (_stripLeft[id])
                {
                    while (leftEnd > start && IsCSpace(text[leftEnd - 1]))
                    {
                        leftEnd--;
                    }
                }
                if (leftEnd > start)
                {
                    output.Add(new TextFragment(start, leftEnd - start, -1));
                }
                output.Add(new TextFragment(at, token.Length, id));
                start = at + token.Length;
                if (_stripRight[id])
                {
                    while (start < end && IsCSpace(text[start]))
                    {
                        start++;
                    }
                }
            }
            if (start < end)
            {
                output.Add(new TextFragment(start, end - start, -1));
            }
        }
    }

    // C isspace in the "C" locale, which llama.cpp uses for lstrip/rstrip
    private static bool IsCSpace(char c) => c is ' ' or (>= '\t' and <= '\r');

    private static Dictionary<char, int[]> ByFirstChar(int[] ids, string[] texts)
    {
        var lists = new Dictionary<char, List<int>>();
        for (int i = 0; i < ids.Length; i++)
        {
            char first = texts[ids[i]][0];
            if (!lists.TryGetValue(first, out List<int>? list))
            {
                lists[first] = list = [];
            }
            list.Add(i);
        }
        var result = new Dictionary<char, int[]>(lists.Count);
        foreach ((char first, List<int> list) in lists)
        {
            result[first] = [.. list];
        }
        return result;
    }
}
