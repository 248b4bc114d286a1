using System.Text.RegularExpressions;

namespace Cria.Guard.Detectors;

/// <summary>
/// A user's regular expressions, compiled with <see cref="RegexOptions.NonBacktracking"/>: matching is linear in
/// the text whatever the pattern (no catastrophic backtracking), and constructs that need backtracking
/// (look-arounds, back-references, atomic groups) are refused when the policy loads. Patterns are capped in
/// length and count, and each match has a timeout as a last bound.
/// </summary>
public sealed class RegexDetector : Detector
{
    public const int MaxPatternLength = 4_096;
    public const int MaxPatterns = 256;
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    private readonly Regex[] _patterns;
    private readonly string _type;
    private readonly string _label;

    /// <exception cref="ArgumentException">A pattern that is too long, does not parse, or needs backtracking; the message says which and why.</exception>
    public RegexDetector(IReadOnlyList<string> patterns, bool caseSensitive = true, string type = "regex", string? label = null)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        if (patterns.Count is 0 or > MaxPatterns)
        {
            throw new ArgumentException($"a regex check has 1 to {MaxPatterns} patterns, not {patterns.Count}");
        }
        _patterns = new Regex[patterns.Count];
        RegexOptions options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | (caseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase);
        for (int i = 0; i < patterns.Count; i++)
        {
            string pattern = patterns[i];
            if (string.IsNullOrEmpty(pattern) || pattern.Length > MaxPatternLength)
            {
                throw new ArgumentException($"pattern {i} is {pattern?.Length ?? 0} characters; a pattern is 1 to {MaxPatternLength}");
            }
            try
            {
                _patterns[i] = new Regex(pattern, options, MatchTimeout);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"pattern {i} is not a valid regular expression: {e.Message}");
            }
            catch (NotSupportedException e)
            {
                throw new ArgumentException($"pattern {i} needs backtracking, which policies do not allow (no look-arounds, back-references or atomic groups): {e.Message}");
            }
            if (_patterns[i].IsMatch(""))
            {
                throw new ArgumentException($"pattern {i} matches the empty string, so it would match everywhere");
            }
        }
        _type = type;
        _label = label ?? "REDACTED";
    }

    public override string Name => "regex";

    public override string Label(string type) => _label;

    public override void Detect(string text, List<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        foreach (Regex regex in _patterns)
        {
            try
            {
                foreach (ValueMatch m in regex.EnumerateMatches(text))
                {
                    if (m.Length > 0)
                    {
                        findings.Add(new Finding(Name, _type, m.Index, m.Index + m.Length, 1.0));
                    }
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // A match that ran out of time is a finding over the whole text: fail closed rather than pass it.
                findings.Add(new Finding(Name, _type + ":timeout", 0, text.Length, 1.0));
            }
        }
    }
}
