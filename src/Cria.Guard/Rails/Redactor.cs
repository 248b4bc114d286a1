namespace Cria.Guard.Rails;

/// <summary>
/// Placeholders for one request: the first distinct value of a label becomes <c>[EMAIL]</c>, the second
/// <c>[EMAIL_2]</c>, and so on; the same value always gets the same placeholder, in every message of the request
/// and every piece of its stream, so a redacted conversation still says which mentions were the same.
/// Not thread-safe: one per request.
/// </summary>
public sealed class Redactor
{
    private readonly Dictionary<(string Label, string Value), string> _placeholders = [];
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    public string Placeholder(string label, ReadOnlySpan<char> value)
    {
        var key = (label, value.ToString());
        if (_placeholders.TryGetValue(key, out string? placeholder))
        {
            return placeholder;
        }
        int n = _counts.GetValueOrDefault(label) + 1;
        _counts[label] = n;
        placeholder = n == 1 ? $"[{label}]" : $"[{label}_{n}]";
        _placeholders[key] = placeholder;
        return placeholder;
    }
}
