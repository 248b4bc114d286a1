using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Hub.Store;

using Xunit.Abstractions;

namespace Cria.Cli.Tests;

/// <summary>
/// The pieces of the kill -9 tests: `cria` as a child process that can be killed (SIGKILL) a seeded
/// random time after it first reports progress, a `cria hub serve` child on 127.0.0.1 port 0, the checks a
/// store must pass after a kill, and the tally that the long mode writes out.
/// </summary>
internal static partial class KillHarness
{
    /// <summary>Kills per operation: <c>CRIA_KILL_RUNS</c> (the long mode, bench/kill), else 3.</summary>
    public static int Runs =>
        int.TryParse(Environment.GetEnvironmentVariable("CRIA_KILL_RUNS"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 3;

    /// <summary>The seed of the kill points: <c>CRIA_KILL_SEED</c>, else 14.</summary>
    public static int Seed =>
        int.TryParse(Environment.GetEnvironmentVariable("CRIA_KILL_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : 14;

    /// <summary>A running `cria`: its stderr lines as they come, and when the first one came.</summary>
    public sealed class Child : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly TaskCompletionSource _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _stdout;
        private readonly Task _stderr;

        public Child(IReadOnlyDictionary<string, string> environment, params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cria.dll"));
            foreach (string a in args)
            {
                psi.ArgumentList.Add(a);
            }
            foreach ((string k, string v) in environment)
            {
                psi.Environment[k] = v;
            }
            Args = string.Join(' ', args);
            _process = Process.Start(psi)!;
            _process.StandardInput.Close();
            _stdout = _process.StandardOutput.ReadToEndAsync();
            _stderr = Task.Run(() =>
            {
                string? line;
                while ((line = _process.StandardError.ReadLine()) is not null)
                {
                    _lines.Enqueue(line);
                    _firstLine.TrySetResult();
                }
                _firstLine.TrySetResult();
            });
        }

        public string Args { get; }

        public int Id => _process.Id;

        public bool HasExited => _process.HasExited;

        public string Stderr => string.Join('\n', _lines);

        /// <summary>Waits for the first line on stderr (or the end); false after <paramref name="timeout"/>.</summary>
        public bool WaitForFirstLine(TimeSpan timeout) => _firstLine.Task.Wait(timeout);

        /// <summary>Waits for a stderr line matching <paramref name="pattern"/>; its match, or null when the process ended first.</summary>
        public Match? WaitForLine(Regex pattern, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            var seen = 0;
            while (clock.Elapsed < timeout)
            {
                string[] lines = [.. _lines];
                for (; seen < lines.Length; seen++)
                {
                    if (pattern.Match(lines[seen]) is { Success: true } m)
                    {
                        return m;
                    }
                }
                if (_process.HasExited && _stderr.IsCompleted)
                {
                    return null;
                }
                Thread.Sleep(10);
            }
            return null;
        }

        /// <summary>SIGKILL (Process.Kill); true when the process was still running.</summary>
        public bool Kill()
        {
            bool running = !_process.HasExited;
            if (running)
            {
                try
                {
                    _process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    running = false; // it exited between the check and the kill
                }
            }
            _process.WaitForExit(30_000);
            return running;
        }

        /// <summary>Waits for the end; the exit code.</summary>
        public int Wait(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                Kill();
                throw new TimeoutException($"cria {Args} did not finish in {timeout.TotalSeconds:F0} s");
            }
            _process.WaitForExit();
            _stderr.Wait(10_000);
            return _process.ExitCode;
        }

        public void Dispose()
        {
            Kill();
            _stdout.Wait(10_000);
            _stderr.Wait(10_000);
            _process.Dispose();
        }
    }

    /// <summary>
    /// Runs `cria ARGS` and kills it a random time (uniform in [0, <paramref name="window"/>)) after its
    /// first line on stderr. True when the kill landed while it was still running.
    /// </summary>
    public static bool RunAndKill(IReadOnlyDictionary<string, string> environment, Random rng, TimeSpan window, params string[] args)
    {
        using var child = new Child(environment, args);
        Assert.True(child.WaitForFirstLine(TimeSpan.FromSeconds(60)), $"cria {child.Args} said nothing in 60 s");
        Thread.Sleep(TimeSpan.FromTicks((long)(rng.NextDouble() * window.Ticks)));
        return child.Kill();
    }

    /// <summary>Runs `cria ARGS` to its end; how long it ran after its first line (the window kills are drawn from).</summary>
    public static TimeSpan RunToEnd(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var child = new Child(environment, args);
        Assert.True(child.WaitForFirstLine(TimeSpan.FromSeconds(60)), $"cria {child.Args} said nothing in 60 s");
        var clock = Stopwatch.StartNew();
        int code = child.Wait(TimeSpan.FromSeconds(120));
        Assert.True(code == 0, $"cria {child.Args} exited {code}: {child.Stderr}");
        return clock.Elapsed;
    }

    /// <summary>`cria hub serve --port 0` on <paramref name="home"/>; the address it listens on.</summary>
    public static (Child Hub, string Host) StartHub(string home, string? pushToken)
    {
        var env = new Dictionary<string, string> { ["CRIA_HOME"] = home };
        Child hub = pushToken is null ? new Child(env, "hub", "serve", "--port", "0") : new Child(env, "hub", "serve", "--port", "0", "--push-token", pushToken);
        Match? m = hub.WaitForLine(ListeningOn(), TimeSpan.FromSeconds(60));
        if (m is null)
        {
            string err = hub.Stderr;
            hub.Dispose();
            Assert.Fail($"the hub did not say where it listens: {err}");
        }
        return (hub, m.Groups[1].Value);
    }

    /// <summary>
    /// What a kill may leave: only complete models are listed, each opens and runs a forward pass, and
    /// nothing is corrupt or broken — at most leftovers, which a repair removes (when
    /// <paramref name="repair"/>; a store a live hub serves is only checked). Returns how many leftovers.
    /// </summary>
    public static int AssertSound(string home, bool repair)
    {
        var store = new ModelStore(home);
        foreach (ModelSummary row in store.List())
        {
            Assert.True(row.Error is null, $"{row.Name.DisplayShortest()} is listed but broken: {row.Error}");
            ModelDetails d = store.Show(row.Name);
            Assert.NotNull(d.ModelPath);
            using LocalModel model = LocalModel.Load(d.ModelPath!);
            InferenceContext ctx = model.Model.CreateContext(16);
            model.Model.Forward(ctx, [1, 2, 3]);
            Assert.True(ctx.Logits.All(float.IsFinite), $"{row.Name.DisplayShortest()} gives non-finite logits");
        }
        StoreCheckReport found = store.Check(repair);
        Assert.Null(found.RepairRefused);
        Assert.DoesNotContain(found.Problems, p => p.Kind is StoreProblemKind.CorruptBlob or StoreProblemKind.BrokenManifest);
        if (repair)
        {
            Assert.True(found.Clean, string.Join("; ", found.Problems.Select(p => $"{p.Path}: {p.RepairError}")));
            StoreCheckReport after = store.Check(repair: false);
            Assert.True(after.Problems.Count == 0, "after the repair: " + string.Join("; ", after.Problems.Select(p => $"{p.Kind} {p.Path}: {p.Detail}")));
        }
        return found.Problems.Count;
    }

    /// <summary>One operation's tally, printed by the test and appended to <c>CRIA_KILL_REPORT</c> when set.</summary>
    public sealed class Tally(string operation)
    {
        public int Runs { get; set; }

        public int Landed { get; set; }

        public int Leftovers { get; set; }

        public int Retries { get; set; }

        public override string ToString() =>
            $"{operation}: {Runs} kills, {Landed} while it ran, {Leftovers} leftovers found and repaired, {Retries} retries succeeded";

        public void Report(ITestOutputHelper output)
        {
            output.WriteLine(ToString());
            if (Environment.GetEnvironmentVariable("CRIA_KILL_REPORT") is { Length: > 0 } path)
            {
                File.AppendAllText(path, $"{operation}\t{Runs}\t{Landed}\t{Leftovers}\t{Retries}\n");
            }
        }
    }

    [GeneratedRegex(@"on http://(127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
