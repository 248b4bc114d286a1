using System.Text;

namespace Cria.Core.Inference;

/// <summary>
/// Finds stop strings in streamed text even when they span tokens. Invariant: text handed out by
/// <see cref="Push"/> never contains a stop string and never ends with a prefix of one; such a
/// tail is held back until the next piece either completes the stop (generation ends, the stop
/// and everything after it are dropped) or rules it out (the tail is released).
/// </summary>
public sealed class StopMatcher
{
    private readonly string[] _stops;
    private readonly StringBuilder _pending = new();

    public StopMatcher(IEnumerable<string>? stops)
    {
        _stops = stops?.Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal).ToArray() ?? [];
    }

    /// <summary>True once a stop string was found.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The stop string that ended the text, if any.</summary>
    public string? MatchedStop { get; private set; }

    /// <summary>Adds generated text; returns the part that is safe to emit now.</summary>
    public string Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Stopped)
        {
            return "";
        }
        if (_stops.Length == 0)
        {
            return text;
        }
        _pending.Append(text);
        string all = _pending.ToString();
        int firstStop = -1;
        foreach (string stop in _stops)
        {
            int at = all.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (firstStop < 0 || at < firstStop))
            {
                firstStop = at;
                MatchedStop = stop;
            }
        }
        if (firstStop >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return all[..firstStop];
        }
        int hold = 0;
        foreach (string stop in _stops)
        {
            for (int len = Math.Min(stop.Length - 1, all.Length); len > hold; len--)
            {
                if (all.AsSpan(all.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    hold = len;
                    break;
                }
            }
        }
        _pending.Clear();
        _pending.Append(all, all.Length - hold, hold);
        return all[..^hold];
    }

    /// <summary>Releases any held-back tail (the generation ended for another reason).</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : _pending.ToString();
        _pending.Clear();
        return rest;
    }
}
