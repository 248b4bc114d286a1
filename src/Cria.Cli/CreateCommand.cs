using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

using Cria.Hub;
using Cria.Hub.Modelfiles;
using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary><c>cria create NAME -f Modelfile</c>: a model in the store from a Modelfile (Ollama's syntax).</summary>
internal static class CreateCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "name for the new model ([host/][namespace/]model[:tag])" };
        var file = new Option<string>("--file", "-f") { Description = "the Modelfile (default: ./Modelfile)", DefaultValueFactory = _ => "Modelfile" };
        var cmd = new Command("create", "Create a model from a Modelfile: FROM a GGUF file or a stored model, with PARAMETER, TEMPLATE, SYSTEM, ADAPTER, LICENSE and MESSAGE.")
        {
            name, file,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            ModelName target = ModelName.Parse(p.GetValue(name)!);
            string path = Path.GetFullPath(p.GetValue(file)!);
            Modelfile modelfile = Modelfile.Load(path);
            foreach (string w in modelfile.Warnings)
            {
                Console.Error.WriteLine($"cria: warning: {w}");
            }
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                ModelStore store = ModelStore.OpenDefault();
                var progress = new ProgressLine();
                StoredManifest m = store.Create(target, modelfile, Path.GetDirectoryName(path)!, progress, cancel.Token);
                progress.Done();
                Console.WriteLine($"created '{m.Name.DisplayShortest()}' ({m.Digest.ShortId}, {CliFormat.Size(m.Manifest.TotalSize)})");
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>
    /// Status on stderr: each new step on its own line; while bytes are copied, a percentage with the
    /// speed, redrawn in place on a terminal (at most ten times a second) and left out when redirected.
    /// </summary>
    private sealed class ProgressLine : IProgress<StoreProgress>
    {
        private readonly bool _terminal = !Console.IsErrorRedirected;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private string? _status;
        private long _lastDraw = -1000;
        private bool _open;

        public void Report(StoreProgress value)
        {
            if (value.Status != _status)
            {
                Done();
                _status = value.Status;
                _clock.Restart();
                _lastDraw = -1000;
                if (value.Total == 0 || !_terminal)
                {
                    Console.Error.WriteLine($"cria: {value.Status}");
                    return;
                }
            }
            if (!_terminal || value.Total == 0 || (_clock.ElapsedMilliseconds - _lastDraw < 100 && value.Completed < value.Total))
            {
                return;
            }
            _lastDraw = _clock.ElapsedMilliseconds;
            double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\rcria: {value.Status} {100.0 * value.Completed / value.Total,5:F1}% of {CliFormat.Size(value.Total)}, {CliFormat.Size((long)(value.Completed / seconds))}/s   "));
            _open = true;
        }

        public void Done()
        {
            if (_open)
            {
                Console.Error.WriteLine();
                _open = false;
            }
        }
    }
}
