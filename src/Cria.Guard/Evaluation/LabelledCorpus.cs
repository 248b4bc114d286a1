using System.Text.Json;

namespace Cria.Guard.Evaluation;

/// <summary>One labelled example: the text, the findings it must produce (type, and the exact text covered when given), its split.</summary>
public sealed record LabelledExample(int Line, string Text, IReadOnlyList<(string Type, string? Match)> Expected, string Split);

/// <summary>
/// A detector's labelled corpus (JSONL: <c>{"text", "findings": [{"type", "match"?}], "split": "dev" | "test"}</c>)
/// and its score: per example, the set of types expected against the set found (score ≥ 0.5), counted as true
/// positives, false positives and false negatives; precision and recall over a split.
/// </summary>
public static class LabelledCorpus
{
    public static List<LabelledExample> Read(string path)
    {
        var examples = new List<LabelledExample>();
        int line = 0;
        foreach (string json in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(json))
            {
                continue;
            }
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            var expected = new List<(string, string?)>();
            foreach (JsonElement f in root.GetProperty("findings").EnumerateArray())
            {
                expected.Add((f.GetProperty("type").GetString()!, f.TryGetProperty("match", out JsonElement m) ? m.GetString() : null));
            }
            examples.Add(new LabelledExample(line, root.GetProperty("text").GetString()!, expected, root.TryGetProperty("split", out JsonElement s) ? s.GetString()! : "dev"));
        }
        return examples;
    }

    /// <summary>The types <paramref name="detector"/> finds in a text at or above <paramref name="threshold"/>.</summary>
    public static HashSet<string> Found(Detectors.Detector detector, string text, double threshold = 0.5)
    {
        var findings = new List<Finding>();
        detector.Detect(text, findings);
        return [.. findings.Where(f => f.Score >= threshold).Select(f => f.Type)];
    }

    public static CorpusScore Score(Detectors.Detector detector, IEnumerable<LabelledExample> examples)
    {
        int tp = 0, fp = 0, fn = 0, n = 0, benign = 0, benignFlagged = 0;
        foreach (LabelledExample e in examples)
        {
            n++;
            HashSet<string> found = Found(detector, e.Text);
            var expected = e.Expected.Select(x => x.Type).ToHashSet();
            tp += found.Count(expected.Contains);
            fp += found.Count(t => !expected.Contains(t));
            fn += expected.Count(t => !found.Contains(t));
            if (expected.Count == 0)
            {
                benign++;
                benignFlagged += found.Count > 0 ? 1 : 0;
            }
        }
        return new CorpusScore(n, tp, fp, fn, benign, benignFlagged);
    }
}

/// <summary>Counts over a split, and precision = TP / (TP + FP), recall = TP / (TP + FN) (1 when the denominator is 0).</summary>
public readonly record struct CorpusScore(int Examples, int TruePositives, int FalsePositives, int FalseNegatives, int Benign, int BenignFlagged)
{
    public double Precision => TruePositives + FalsePositives == 0 ? 1 : (double)TruePositives / (TruePositives + FalsePositives);

    public double Recall => TruePositives + FalseNegatives == 0 ? 1 : (double)TruePositives / (TruePositives + FalseNegatives);
}
