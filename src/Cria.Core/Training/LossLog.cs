using System.Globalization;
using System.Text;

using Cria.Core.IO;

namespace Cria.Core.Training;

/// <summary>One row of the loss curve: the training loss of a step and/or the evaluation loss measured after it.</summary>
public sealed record LossPoint(int Step, double? TrainLoss, double? EvalLoss, double LearningRate);

/// <summary>
/// The loss curve of a run, one row per step (step 0 holds the evaluation before training). Invariant:
/// rows are in increasing step order with at most one row per step; it travels in checkpoints, so a
/// resumed run writes the whole curve.
/// </summary>
public sealed class LossLog
{
    private readonly List<LossPoint> _points = [];

    public IReadOnlyList<LossPoint> Points => _points;

    public void AddTrain(int step, double loss, double lr) => Merge(step, p => p with { TrainLoss = loss, LearningRate = lr }, new LossPoint(step, loss, null, lr));

    public void AddEval(int step, double loss, double lr) => Merge(step, p => p with { EvalLoss = loss }, new LossPoint(step, null, loss, lr));

    internal void Add(LossPoint p)
    {
        if (_points.Count > 0 && _points[^1].Step >= p.Step)
        {
            throw new InvalidDataException($"loss log steps must increase ({_points[^1].Step} then {p.Step})");
        }
        _points.Add(p);
    }

    private void Merge(int step, Func<LossPoint, LossPoint> update, LossPoint fresh)
    {
        if (_points.Count > 0 && _points[^1].Step == step)
        {
            _points[^1] = update(_points[^1]);
        }
        else
        {
            Add(fresh);
        }
    }

    /// <summary>The curve as CSV: <c>step,train_loss,eval_loss,lr</c>, empty cells where a value was not measured.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder("step,train_loss,eval_loss,lr\n");
        foreach (LossPoint p in _points)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{p.Step},{Format(p.TrainLoss)},{Format(p.EvalLoss)},{p.LearningRate.ToString("G6", CultureInfo.InvariantCulture)}\n");
        }
        return sb.ToString();
    }

    private static string Format(double? v) => v is double d ? d.ToString("F6", CultureInfo.InvariantCulture) : "";

    /// <summary>Writes <c>BASE.loss.csv</c> and <c>BASE.loss.svg</c>, each atomically (see <see cref="AtomicFile"/>); returns their paths.</summary>
    public (string Csv, string Svg) WriteFiles(string basePath, string title)
    {
        ArgumentNullException.ThrowIfNull(basePath);
        string csv = basePath + ".loss.csv";
        string svg = basePath + ".loss.svg";
        AtomicFile.WriteAllText(csv, ToCsv());
        AtomicFile.WriteAllText(svg, LossPlot.Svg(this, title));
        return (csv, svg);
    }

    /// <summary>The path an adapter's loss files start with: the adapter path without its extension.</summary>
    public static string BasePathFor(string adapterPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(adapterPath)) ?? ".", Path.GetFileNameWithoutExtension(adapterPath));
}
