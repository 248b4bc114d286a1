using Cria.Guard.Detectors;
using Cria.Guard.Evaluation;

namespace Cria.Guard.Tests;

/// <summary>
/// Each detector over its labelled corpus (tests/data/guard): every dev example exactly (the types found, and the
/// span of each finding whose text the corpus gives); the held-out test split by precision and recall floors.
/// </summary>
public sealed class CorpusTests
{
    public static TheoryData<string> Corpora => ["pii", "secrets", "injection"];

    private static Detector For(string name) => name switch
    {
        "pii" => new PiiDetector(),
        "secrets" => new SecretsDetector(),
        _ => new InjectionDetector(),
    };

    private static List<LabelledExample> Load(string name) => LabelledCorpus.Read(Path.Combine(AppContext.BaseDirectory, "data", "guard", name + ".jsonl"));

    [Theory]
    [MemberData(nameof(Corpora))]
    public void Every_dev_example_gets_exactly_its_findings(string name)
    {
        Detector detector = For(name);
        var failures = new List<string>();
        List<LabelledExample> dev = [.. Load(name).Where(e => e.Split == "dev")];
        Assert.True(dev.Count >= 20, $"{name}: only {dev.Count} dev examples");
        Assert.Contains(dev, e => e.Expected.Count == 0);
        foreach (LabelledExample e in dev)
        {
            var findings = new List<Finding>();
            detector.Detect(e.Text, findings);
            findings.RemoveAll(f => f.Score < 0.5);
            var found = findings.Select(f => f.Type).ToHashSet();
            var expected = e.Expected.Select(x => x.Type).ToHashSet();
            if (!found.SetEquals(expected))
            {
                failures.Add($"line {e.Line}: expected [{string.Join(",", expected)}] found [{string.Join(",", found)}] in {e.Text}");
                continue;
            }
            foreach ((string type, string? match) in e.Expected)
            {
                if (match is not null && !findings.Any(f => f.Type == type && e.Text[f.Start..f.End] == match))
                {
                    failures.Add($"line {e.Line}: {type} spans [{string.Join("|", findings.Where(f => f.Type == type).Select(f => e.Text[f.Start..f.End]))}], expected '{match}'");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Corpora))]
    public void Held_out_split_meets_the_precision_and_recall_floors(string name)
    {
        List<LabelledExample> test = [.. Load(name).Where(e => e.Split == "test")];
        Assert.True(test.Count >= 15, $"{name}: only {test.Count} test examples");
        CorpusScore score = LabelledCorpus.Score(For(name), test);
        Assert.True(score.Precision >= 0.8 && score.Recall >= 0.8, $"{name}: precision {score.Precision:F2} recall {score.Recall:F2} ({score})");
    }
}
