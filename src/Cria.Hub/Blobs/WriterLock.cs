using System.Diagnostics;

namespace Cria.Hub.Blobs;

/// <summary>
/// Who is writing a blob directory: <c>blobs/.writers</c>, held shared (an advisory <c>flock</c>
/// <c>LOCK_SH</c>) by every writer for as long as its temporary files, partial downloads and blobs not
/// yet named by a manifest are in flight — a blob put, a partial download, a create, a pull, a serving
/// hub — and exclusively by <c>cria doctor --repair</c>. Invariant: the doctor removes leftovers only
/// while it holds the lock exclusively, so it never deletes a file a live process will still use; the
/// OS drops a holder's lock when it exits, <c>kill -9</c> included, so a dead writer never blocks it.
/// </summary>
public sealed class WriterLock : IDisposable
{
    /// <summary>The lock file's name inside the blob directory.</summary>
    public const string FileName = ".writers";

    private static readonly TimeSpan s_sharedTimeout = TimeSpan.FromSeconds(60);
    private readonly FileStream _file;

    private WriterLock(FileStream file) => _file = file;

    /// <summary>Joins the writers of <paramref name="blobDirectory"/> (waits while a repair holds it exclusively).</summary>
    /// <exception cref="HubException">A repair held the directory for a minute.</exception>
    public static WriterLock EnterShared(string blobDirectory)
    {
        Directory.CreateDirectory(blobDirectory);
        string path = Path.Combine(blobDirectory, FileName);
        var clock = Stopwatch.StartNew();
        int wait = 2;
        while (true)
        {
            try
            {
                // FileShare other than None is a shared lock on Unix (and lets other writers open it on Windows).
                return new WriterLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None));
            }
            catch (IOException e) when (e is not (DirectoryNotFoundException or PathTooLongException))
            {
                if (clock.Elapsed > s_sharedTimeout)
                {
                    throw new HubException($"the blob directory {blobDirectory} is being repaired (cria doctor --repair holds {path}); try again when it has finished", e);
                }
                Thread.Sleep(wait);
                wait = Math.Min(wait * 2, 100);
            }
        }
    }

    /// <summary>
    /// Takes the directory for a repair: null when some live process is writing to it, after trying for
    /// <paramref name="timeout"/>.
    /// </summary>
    public static WriterLock? TryEnterExclusive(string blobDirectory, TimeSpan timeout)
    {
        Directory.CreateDirectory(blobDirectory);
        string path = Path.Combine(blobDirectory, FileName);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new WriterLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None));
            }
            catch (IOException e) when (e is not (DirectoryNotFoundException or PathTooLongException))
            {
                if (clock.Elapsed >= timeout)
                {
                    return null;
                }
                Thread.Sleep(20);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
