using System.Globalization;

namespace Cria.Soak;

/// <summary>
/// Just enough of the Prometheus text format to sum samples: <c>name{label="value",...} value</c>. Label values
/// here never hold a comma or a quote (scope names, generations, status codes, routes), so a label list is
/// split on <c>","</c>.
/// </summary>
internal sealed class Prometheus
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public static Prometheus Parse(string text)
    {
        var p = new Prometheus();
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int brace = line.IndexOf('{', StringComparison.Ordinal);
            int space = line.LastIndexOf(' ');
            if (space <= 0)
            {
                continue;
            }
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            string name;
            if (brace > 0 && brace < space)
            {
                name = line[..brace];
                int close = line.LastIndexOf('}');
                foreach (string pair in line[(brace + 1)..close].Split("\","))
                {
                    int eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq > 0)
                    {
                        labels[pair[..eq]] = pair[(eq + 1)..].Trim('"');
                    }
                }
            }
            else
            {
                name = line[..space];
            }
            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            {
                p._samples.Add((name, labels, v));
            }
        }
        return p;
    }

    /// <summary>
    /// The sum of <paramref name="name"/> over its series from meter <paramref name="scope"/> (any when null) whose
    /// labels start with the given values (so status "5" matches 500, 503…).
    /// </summary>
    public double Sum(string name, string? scope, params (string Key, string Prefix)[] labels)
    {
        double sum = 0;
        foreach ((string n, Dictionary<string, string> l, double v) in _samples)
        {
            if (n != name || (scope is not null && l.GetValueOrDefault("otel_scope_name") != scope))
            {
                continue;
            }
            if (labels.All(want => l.TryGetValue(want.Key, out string? got) && got.StartsWith(want.Prefix, StringComparison.Ordinal)))
            {
                sum += v;
            }
        }
        return sum;
    }
}
