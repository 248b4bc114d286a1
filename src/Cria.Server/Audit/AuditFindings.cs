using System.Text;
using System.Text.Json;

namespace Cria.Server.Audit;

/// <summary>
/// Guard findings as the audit log stores them: a compact JSON array with the fields always in the
/// same order (<c>detector, type, start, end, category, action</c>), so the same findings are the
/// same bytes and the same hash; and the distinct actions, for <c>cria audit list --action</c>.
/// </summary>
public static class AuditFindings
{
    public static string ToJson(IReadOnlyList<GuardFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        if (findings.Count == 0)
        {
            return "[]";
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (GuardFinding f in findings)
            {
                json.WriteStartObject();
                json.WriteString("detector", f.Detector);
                json.WriteString("type", f.Type);
                json.WriteNumber("start", f.Start);
                json.WriteNumber("end", f.End);
                if (f.Category is null)
                {
                    json.WriteNull("category");
                }
                else
                {
                    json.WriteString("category", f.Category);
                }
                json.WriteString("action", f.Action);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The distinct actions in the order first taken, comma-separated ("" for none).</summary>
    public static string Actions(IReadOnlyList<GuardFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var seen = new List<string>();
        foreach (GuardFinding f in findings)
        {
            if (!seen.Contains(f.Action, StringComparer.Ordinal))
            {
                seen.Add(f.Action);
            }
        }
        return string.Join(',', seen);
    }

    /// <summary>Parses a stored array; a malformed one (a hand-edited row) is an <see cref="InvalidDataException"/>.</summary>
    public static IReadOnlyList<GuardFinding> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            var findings = new List<GuardFinding>();
            foreach (JsonElement e in doc.RootElement.EnumerateArray())
            {
                findings.Add(new GuardFinding(
                    e.GetProperty("detector").GetString() ?? "",
                    e.GetProperty("type").GetString() ?? "",
                    e.GetProperty("start").GetInt32(),
                    e.GetProperty("end").GetInt32(),
                    e.TryGetProperty("category", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null,
                    e.GetProperty("action").GetString() ?? ""));
            }
            return findings;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new InvalidDataException($"malformed findings: {e.Message}", e);
        }
    }
}
