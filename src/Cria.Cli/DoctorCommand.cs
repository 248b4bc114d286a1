using System.CommandLine;

using Cria.Hub.Store;

using Spectre.Console;

namespace Cria.Cli;

/// <summary>
/// <c>cria doctor [--repair] [--home DIR]</c> (also reachable as <c>cria store check</c>): verifies every
/// blob of the store against its digest, checks every manifest's blobs, finds what killed processes
/// left, prints a report on stdout (a progress bar on stderr while hashing, on a terminal) and exits 1
/// when something is wrong and was not repaired.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        Option<bool> repair = RepairOption();
        Option<string?> home = HomeOption();
        var cmd = new Command("doctor",
            "Check the store (also: cria store check): verify every blob's SHA-256, every manifest's blobs, and find leftovers (temporary files and partial downloads of dead processes, blobs no model uses); exit code 1 if anything is wrong.")
        {
            repair, home,
        };
        cmd.SetAction(p => CliErrors.Run(() => Execute(p.GetValue(repair), p.GetValue(home))));
        return cmd;
    }

    /// <summary><c>cria store check</c>: the same command under the name some users look for.</summary>
    public static Command CreateStoreGroup()
    {
        Option<bool> repair = RepairOption();
        Option<string?> home = HomeOption();
        var check = new Command("check", "The same as cria doctor: verify the store and find leftovers; --repair removes them.") { repair, home };
        check.SetAction(p => CliErrors.Run(() => Execute(p.GetValue(repair), p.GetValue(home))));
        return new Command("store", "The local model store ($CRIA_HOME/models).") { check };
    }

    private static Option<bool> RepairOption() => new("--repair")
    {
        Description = "remove the leftovers, corrupt blobs and broken manifests found (never a good blob a model uses); waits for no other cria process to be writing",
    };

    private static Option<string?> HomeOption() => new("--home")
    {
        Description = "the Cria home to check instead of $CRIA_HOME (default ~/.cria); a hub's data directory is the CRIA_HOME it was started with",
    };

    private static int Execute(bool repair, string? home)
    {
        if (home is not null && !Directory.Exists(home))
        {
            throw new UserException($"no such directory: {home}");
        }
        var store = home is null ? ModelStore.OpenDefault() : new ModelStore(home);
        StoreCheckReport report = Check(store, repair);
        Print(report);
        return report.Clean && report.RepairRefused is null ? 0 : 1;
    }

    private static StoreCheckReport Check(ModelStore store, bool repair)
    {
        if (Console.IsErrorRedirected)
        {
            return store.Check(repair);
        }
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        StoreCheckReport report = null!;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("verifying blobs", maxValue: 1);
                report = store.Check(repair, new Reporter(task));
                task.Value = task.MaxValue;
            });
        return report;
    }

    private static void Print(StoreCheckReport r)
    {
        Console.WriteLine($"checked {r.Directory}: {r.BlobsVerified} blob{(r.BlobsVerified == 1 ? "" : "s")} ({CliFormat.Size(r.BytesVerified)}) verified, {r.Manifests} manifest{(r.Manifests == 1 ? "" : "s")}");
        foreach (StoreProblem p in r.Problems)
        {
            string state = p.Repaired ? "  [removed]" : p.RepairError is not null ? $"  [not removed: {p.RepairError}]" : "";
            Console.WriteLine($"  {Label(p.Kind),-16} {p.Path}: {p.Detail}{state}");
        }
        foreach (string note in r.Notes)
        {
            Console.WriteLine($"  note: {note}");
        }
        int open = r.Problems.Count(p => !p.Repaired);
        int fixedCount = r.Problems.Count - open;
        if (r.RepairRefused is not null)
        {
            Console.Error.WriteLine($"cria: error: {r.RepairRefused}");
        }
        if (r.Problems.Count == 0)
        {
            Console.WriteLine("the store is clean");
        }
        else if (open == 0)
        {
            Console.WriteLine($"repaired {fixedCount} problem{(fixedCount == 1 ? "" : "s")}; the store is clean");
        }
        else
        {
            Console.WriteLine($"{open} problem{(open == 1 ? "" : "s")}{(r.RepairAsked ? " left" : "; cria doctor --repair removes them")}");
        }
    }

    private static string Label(StoreProblemKind kind) => kind switch
    {
        StoreProblemKind.CorruptBlob => "corrupt blob",
        StoreProblemKind.BrokenManifest => "broken manifest",
        StoreProblemKind.TemporaryFile => "temporary file",
        StoreProblemKind.PartialDownload => "partial download",
        _ => "orphan blob",
    };

    private sealed class Reporter(ProgressTask task) : IProgress<StoreCheckProgress>
    {
        public void Report(StoreCheckProgress value)
        {
            task.MaxValue = Math.Max(value.Total, 1);
            task.Value = value.Done;
        }
    }
}
