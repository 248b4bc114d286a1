using System.Collections.Concurrent;

using Cria.Hub.Remote;

using Spectre.Console;

namespace Cria.Cli;

/// <summary>
/// Shows a pull or push on stderr. On a terminal: a Spectre.Console progress display, one bar per blob
/// with bytes, speed and time left. Redirected: one line per step and blob, no redrawing.
/// </summary>
internal static class TransferProgress
{
    /// <summary>Runs <paramref name="work"/> with a progress sink suited to stderr.</summary>
    public static async Task<T> RunAsync<T>(Func<IProgress<PullProgress>, Task<T>> work)
    {
        if (Console.IsErrorRedirected)
        {
            return await work(new LineProgress()).ConfigureAwait(false);
        }
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(ctx => work(new BarProgress(ctx))).ConfigureAwait(false);
    }

    private static string Label(PullProgress p) =>
        p.Item is null ? p.Status : $"{p.Status} {(p.Item.StartsWith("sha256:", StringComparison.Ordinal) ? p.Item[7..19] : p.Item)}";

    private sealed class BarProgress(ProgressContext ctx) : IProgress<PullProgress>
    {
        private readonly ConcurrentDictionary<string, ProgressTask> _bars = new(StringComparer.Ordinal);
        private readonly object _lock = new();
        private ProgressTask? _step;

        public void Report(PullProgress value)
        {
            lock (_lock)
            {
                if (value.Total <= 0)
                {
                    _step?.StopTask();
                    _step = ctx.AddTask(Markup.Escape(Label(value)), maxValue: 1);
                    _step.IsIndeterminate = true;
                    return;
                }
                string key = value.Item ?? value.Status;
                ProgressTask bar = _bars.GetOrAdd(key, _ => ctx.AddTask(Markup.Escape(Label(value)), maxValue: value.Total));
                bar.Description = Markup.Escape(Label(value));
                bar.MaxValue = value.Total;
                bar.Value = value.Completed;
                if (value.Completed >= value.Total)
                {
                    bar.StopTask();
                }
            }
        }
    }

    private sealed class LineProgress : IProgress<PullProgress>
    {
        private readonly HashSet<string> _shown = new(StringComparer.Ordinal);
        private readonly object _lock = new();

        public void Report(PullProgress value)
        {
            string line = Label(value) + (value.Total > 0 ? $" ({CliFormat.Size(value.Total)})" : "");
            bool done = value.Total > 0 && value.Completed >= value.Total;
            lock (_lock)
            {
                if (_shown.Add(line))
                {
                    Console.Error.WriteLine($"cria: {line}");
                }
                if (done && _shown.Add(line + " done"))
                {
                    Console.Error.WriteLine($"cria: {line} done");
                }
            }
        }
    }
}
