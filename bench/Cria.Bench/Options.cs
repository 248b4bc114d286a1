using System.Globalization;

namespace Cria.Bench;

/// <summary>
/// "--name value" and "--flag" arguments after the mode word. Every option a mode reads is
/// consumed; <see cref="ThrowIfUnused"/> then rejects anything left over, so a misspelled option
/// is an error instead of a silently ignored default.
/// </summary>
internal sealed class Options
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Options(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                throw new ArgumentException($"unexpected argument \"{a}\"");
            }
            string name = a[2..];
            string? value = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
            if (!_values.TryAdd(name, value))
            {
                throw new ArgumentException($"--{name} is given twice");
            }
        }
    }

    public string? String(string name)
    {
        _used.Add(name);
        if (!_values.TryGetValue(name, out string? v))
        {
            return null;
        }
        return v ?? throw new ArgumentException($"--{name} needs a value");
    }

    public string Required(string name) => String(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback)
    {
        string? v = String(name);
        if (v is null)
        {
            return fallback;
        }
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0
            ? n
            : throw new ArgumentException($"--{name} needs a non-negative integer, not \"{v}\"");
    }

    public ulong ULong(string name, ulong fallback)
    {
        string? v = String(name);
        if (v is null)
        {
            return fallback;
        }
        return ulong.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong n)
            ? n
            : throw new ArgumentException($"--{name} needs a non-negative integer, not \"{v}\"");
    }

    public bool Flag(string name)
    {
        _used.Add(name);
        if (!_values.TryGetValue(name, out string? v))
        {
            return false;
        }
        return v is null ? true : throw new ArgumentException($"--{name} takes no value");
    }

    public void ThrowIfUnused()
    {
        foreach (string name in _values.Keys)
        {
            if (!_used.Contains(name))
            {
                throw new ArgumentException($"unknown option --{name}");
            }
        }
    }
}
