using System.Diagnostics;
using System.Globalization;

using Cria.Core.Training;

namespace Cria.Cli;

/// <summary>
/// The live line of <c>cria finetune</c> on stderr: step/total, loss, learning rate, tokens/s (mean
/// over this run) and ETA, rewritten in place on a terminal; when stderr is redirected, a line about
/// twenty times per run. Evaluations get a line of their own.
/// </summary>
internal sealed class TrainingProgress(int totalSteps, int startStep)
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _live = !Console.IsErrorRedirected;
    private readonly int _every = Math.Max(1, (totalSteps - startStep) / 20);
    private long _tokens;
    private int _steps;
    private bool _lineOpen;

    public void OnStep(StepReport r)
    {
        _tokens += r.Tokens;
        _steps++;
        double seconds = _clock.Elapsed.TotalSeconds;
        double perStep = seconds / _steps;
        var eta = TimeSpan.FromSeconds(Math.Round(perStep * (r.TotalSteps - r.Step)));
        string line = string.Create(s_inv,
            $"step {r.Step}/{r.TotalSteps}  loss {r.Loss:F4}  lr {r.LearningRate:0.00e+00}  {_tokens / Math.Max(seconds, 1e-9):N0} tok/s  ETA {Format(eta)}");
        if (_live)
        {
            Console.Error.Write("\r" + line.PadRight(90));
            _lineOpen = true;
        }
        else if (r.Step % _every == 0 || r.Step == r.TotalSteps || _steps == 1)
        {
            Console.Error.WriteLine(line);
        }
    }

    public void OnEval(EvalReport e)
    {
        Finish();
        Console.Error.WriteLine(string.Create(s_inv, $"eval at step {e.Step}: loss {e.Loss:F4}, perplexity {e.Perplexity:F3} ({e.Tokens:N0} tokens)"));
    }

    /// <summary>Ends the live line (before other output).</summary>
    public void Finish()
    {
        if (_lineOpen)
        {
            Console.Error.WriteLine();
            _lineOpen = false;
        }
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", s_inv) : t.ToString(@"m\:ss", s_inv);
}
