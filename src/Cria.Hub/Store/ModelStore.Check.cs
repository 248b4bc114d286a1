using System.Diagnostics;

using Cria.Hub.Blobs;
using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

public sealed partial class ModelStore
{
    private static readonly TimeSpan s_repairWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>cria doctor</c>: verifies every blob's SHA-256 against its name, reads every manifest and checks
    /// that each blob it names is present, of its size and intact, and finds leftovers — temporary files
    /// and partial downloads of dead writers, blobs no readable manifest refers to. With
    /// <paramref name="repair"/>, removes the leftovers, the corrupt blobs and the broken manifests (and
    /// then the blobs only they named); a blob a good manifest refers to is never removed.
    /// Blobs are hashed without any lock (a writer never changes a published blob); the rest is decided
    /// and repaired holding the <see cref="WriterLock"/> exclusively and the store lock, so nothing a
    /// live create, pull or hub still needs is touched. Without a repair the writer lock is only probed:
    /// when some process is writing, its files are noted, not counted as problems. Nothing is created
    /// when the store does not exist.
    /// </summary>
    public StoreCheckReport Check(bool repair, IProgress<StoreCheckProgress>? progress = null, CancellationToken cancel = default)
    {
        var report = new StoreCheckReport { Directory = ModelsDirectory, RepairAsked = repair };
        if (!Directory.Exists(ModelsDirectory))
        {
            return report;
        }
        Dictionary<Digest, string> corrupt = HashBlobs(report, progress, cancel);

        // A check without a repair creates nothing: with no blob directory there is no writer to probe.
        bool probe = repair || Directory.Exists(Blobs.Directory);
        WriterLock? exclusive = probe ? WriterLock.TryEnterExclusive(Blobs.Directory, repair ? s_repairWait : TimeSpan.Zero) : null;
        bool writersActive = probe && exclusive is null;
        if (!repair)
        {
            exclusive?.Dispose();
            exclusive = null;
        }
        else if (writersActive)
        {
            report.RepairRefused = "another process is writing to the store (a create, a pull, or a hub serving it); nothing was removed — run the repair again when it has finished";
        }
        try
        {
            using StoreLock? storeLock = exclusive is not null ? StoreLock.Acquire(ModelsDirectory, s_lockTimeout) : null;
            var referenced = new HashSet<Digest>();
            CheckManifests(report, corrupt, referenced, writersActive);
            CheckBlobFiles(report, corrupt, referenced, writersActive);
            if (exclusive is not null)
            {
                Repair(report);
            }
        }
        finally
        {
            exclusive?.Dispose();
        }
        return report;
    }

    /// <summary>Hashes every complete blob; returns those whose content is not what their name says, with why.</summary>
    private Dictionary<Digest, string> HashBlobs(StoreCheckReport report, IProgress<StoreCheckProgress>? progress, CancellationToken cancel)
    {
        var corrupt = new Dictionary<Digest, string>();
        List<Digest> digests = [.. Blobs.Enumerate()];
        long total = 0;
        foreach (Digest d in digests)
        {
            total += Blobs.TryGetSize(d, out long size) ? size : 0;
        }
        long done = 0;
        foreach (Digest d in digests)
        {
            cancel.ThrowIfCancellationRequested();
            var info = new FileInfo(Blobs.PathOf(d));
            if (!info.Exists)
            {
                continue; // removed since it was listed (cria rm)
            }
            if (info.LinkTarget is not null)
            {
                corrupt[d] = "is a symbolic link; the store holds only regular files";
                continue;
            }
            long start = done;
            try
            {
                using FileStream s = Blobs.OpenRead(d);
                Digest actual = BlobStore.Hash(s, new SyncProgress(n => progress?.Report(new StoreCheckProgress(d.ToString(), start + n, total))), cancel);
                if (actual != d)
                {
                    corrupt[d] = $"its content hashes to {actual}";
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or HubException)
            {
                corrupt[d] = $"cannot be read: {e.Message}";
            }
            done = start + info.Length;
            report.BlobsVerified++;
            report.BytesVerified += info.Length;
            progress?.Report(new StoreCheckProgress(d.ToString(), done, total));
        }
        return corrupt;
    }

    private void CheckManifests(StoreCheckReport report, Dictionary<Digest, string> corrupt, HashSet<Digest> referenced, bool writersActive)
    {
        if (!Directory.Exists(ManifestsDirectory))
        {
            return;
        }
        foreach (string file in Directory.EnumerateFiles(ManifestsDirectory, "*", SearchOption.AllDirectories))
        {
            string relative = Relative(file);
            if (BlobStore.IsTemporaryName(Path.GetFileName(file), out int pid))
            {
                bool alive = IsAlive(pid);
                AddLeftover(report, StoreProblemKind.TemporaryFile, file, TemporaryDetail(pid, alive), alive);
                continue;
            }
            string[] s = Path.GetRelativePath(ManifestsDirectory, file).Split(Path.DirectorySeparatorChar);
            if (s.Length != 4 || !s.Select((p, i) => ModelName.IsValidSegment(i, p)).All(ok => ok)
                || !ModelName.TryParse($"{s[0]}/{s[1]}/{s[2]}:{s[3]}", out ModelName? name))
            {
                report.Notes.Add($"{relative}: not a manifest of the store; left alone");
                continue;
            }
            report.Manifests++;
            string? why = null;
            StoredManifest? m = null;
            try
            {
                m = ReadManifest(file, name);
            }
            catch (Exception e) when (e is HubException or IOException or UnauthorizedAccessException)
            {
                why = $"cannot be read: {e.Message}";
            }
            if (m is not null)
            {
                foreach (ManifestLayer layer in m.Manifest.Blobs)
                {
                    why ??= !Blobs.TryGetSize(layer.Digest, out long size) ? $"blob {layer.Digest} ({layer.MediaType}) is missing"
                        : size != layer.Size ? $"blob {layer.Digest} is {size:N0} bytes but the manifest says {layer.Size:N0}"
                        : corrupt.TryGetValue(layer.Digest, out string? bad) ? $"blob {layer.Digest} ({layer.MediaType}) is corrupt: {bad}"
                        : null;
                }
            }
            if (why is null)
            {
                referenced.UnionWith(m!.Manifest.Blobs.Select(l => l.Digest));
                continue;
            }
            report.Problems.Add(new StoreProblem(StoreProblemKind.BrokenManifest, relative, $"{name.DisplayShortest()}: {why}", new FileInfo(file).Length));
        }
    }

    private void CheckBlobFiles(StoreCheckReport report, Dictionary<Digest, string> corrupt, HashSet<Digest> referenced, bool writersActive)
    {
        if (!Directory.Exists(Blobs.Directory))
        {
            return;
        }
        foreach (string file in Directory.EnumerateFiles(Blobs.Directory))
        {
            string fileName = Path.GetFileName(file);
            long bytes = new FileInfo(file).Length;
            if (fileName == WriterLock.FileName)
            {
                continue;
            }
            if (Digest.TryParseFileName(fileName, out Digest? d))
            {
                if (corrupt.TryGetValue(d, out string? why))
                {
                    report.Problems.Add(new StoreProblem(StoreProblemKind.CorruptBlob, Relative(file), why, bytes));
                }
                else if (!referenced.Contains(d))
                {
                    AddLeftover(report, StoreProblemKind.OrphanBlob, file, "no intact manifest refers to it", writersActive);
                }
            }
            else if (fileName.EndsWith(BlobStore.PartialSuffix, StringComparison.Ordinal)
                && Digest.TryParseFileName(fileName[..^BlobStore.PartialSuffix.Length], out Digest? partial))
            {
                AddLeftover(report, StoreProblemKind.PartialDownload, file, $"an interrupted download of {partial} ({bytes:N0} bytes so far; a pull of the model would resume it)", writersActive || IsLocked(file));
            }
            else if (fileName.EndsWith(BlobStore.PartialSuffix + ".parts", StringComparison.Ordinal))
            {
                if (!File.Exists(file[..^".parts".Length]))
                {
                    AddLeftover(report, StoreProblemKind.TemporaryFile, file, "the parts record of a download whose partial file is gone", writersActive);
                }
            }
            else if (BlobStore.IsTemporaryName(fileName, out int pid))
            {
                bool alive = IsAlive(pid);
                AddLeftover(report, StoreProblemKind.TemporaryFile, file, TemporaryDetail(pid, alive), alive || (writersActive && pid == 0));
            }
            else
            {
                report.Notes.Add($"{Relative(file)}: not a file of the store; left alone");
            }
        }
    }

    /// <summary>
    /// Removes what was found. The blobs that only broken manifests named were already counted as
    /// orphans (only good manifests mark blobs referenced), so they go in the same pass.
    /// </summary>
    private void Repair(StoreCheckReport report)
    {
        foreach (StoreProblem p in report.Problems)
        {
            string path = Path.Combine(ModelsDirectory, p.Path);
            try
            {
                if (p.Kind == StoreProblemKind.PartialDownload)
                {
                    File.Delete(path + ".parts");
                }
                File.Delete(path);
                p.Repaired = true;
                if (path.StartsWith(ManifestsDirectory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    PruneEmptyDirectories(Path.GetDirectoryName(path)!);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                p.RepairError = e.Message;
            }
        }
    }

    private void AddLeftover(StoreCheckReport report, StoreProblemKind kind, string file, string detail, bool inUse)
    {
        if (inUse)
        {
            report.Notes.Add($"{Relative(file)}: in use by a running process ({detail}); left alone");
            return;
        }
        report.Problems.Add(new StoreProblem(kind, Relative(file), detail, new FileInfo(file).Length));
    }

    private static string TemporaryDetail(int pid, bool alive) =>
        pid <= 0 ? "a temporary file whose writer is not recorded"
        : alive ? $"a temporary file of process {pid}, which is running"
        : $"a temporary file of process {pid}, which is not running";

    private string Relative(string file) => Path.GetRelativePath(ModelsDirectory, file);

    /// <summary>Whether a process with this id runs (our own id counts); false for 0.</summary>
    private static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Whether another holder has the file open exclusively (a live partial download).</summary>
    private static bool IsLocked(string file)
    {
        try
        {
            using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
