using System.Buffers;

namespace Cria.Guard.Detectors;

/// <summary>
/// A user's list of words or phrases, found all at once (<see cref="SearchValues{T}"/> of strings: one pass over
/// the text whatever the list's length), ignoring case unless asked, as whole words unless asked.
/// </summary>
public sealed class KeywordsDetector : Detector
{
    public const int MaxWords = 100_000;
    public const int MaxWordLength = 1_000;

    private readonly string[] _words;
    private readonly SearchValues<string> _search;
    private readonly StringComparison _comparison;
    private readonly bool _wholeWord;
    private readonly string _type;
    private readonly string _label;

    public KeywordsDetector(IReadOnlyList<string> words, bool caseSensitive = false, bool wholeWord = true, string type = "keyword", string? label = null)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (words.Count is 0 or > MaxWords)
        {
            throw new ArgumentException($"a keyword list holds 1 to {MaxWords} words, not {words.Count}", nameof(words));
        }
        foreach (string word in words)
        {
            if (string.IsNullOrWhiteSpace(word) || word.Length > MaxWordLength)
            {
                throw new ArgumentException($"a keyword is 1 to {MaxWordLength} characters and not blank", nameof(words));
            }
        }
        _comparison = caseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        // Longest first, so a phrase wins over a word it starts with.
        _words = [.. words.Distinct(caseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase).OrderByDescending(w => w.Length)];
        _search = SearchValues.Create(_words, _comparison);
        _wholeWord = wholeWord;
        _type = type;
        _label = label ?? "REDACTED";
    }

    public override string Name => "keywords";

    public override string Label(string type) => _label;

    public override void Detect(string text, List<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        int at = 0;
        while (at < text.Length)
        {
            int i = text.AsSpan(at).IndexOfAny(_search);
            if (i < 0)
            {
                return;
            }
            int start = at + i;
            int length = 0;
            foreach (string word in _words)
            {
                if (text.AsSpan(start).StartsWith(word, _comparison) && (!_wholeWord || Whole(text, start, start + word.Length)))
                {
                    length = word.Length;
                    break;
                }
            }
            if (length > 0)
            {
                findings.Add(new Finding(Name, _type, start, start + length, 1.0));
                at = start + length;
            }
            else
            {
                at = start + 1;
            }
        }
    }

    private static bool Whole(string text, int start, int end) =>
        (start == 0 || !char.IsLetterOrDigit(text[start - 1]) || !char.IsLetterOrDigit(text[start])) &&
        (end == text.Length || !char.IsLetterOrDigit(text[end]) || !char.IsLetterOrDigit(text[end - 1]));
}
