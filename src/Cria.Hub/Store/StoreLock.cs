using System.Diagnostics;

namespace Cria.Hub.Store;

/// <summary>
/// The store's writer lock: <c>models/.lock</c> opened exclusively (an advisory lock the OS drops when
/// the holder exits, so a killed process never leaves the store locked).
/// Invariant: manifests are written and removed, and blobs garbage-collected, only while it is held —
/// so <c>rm</c> never deletes a blob that a manifest being written at the same moment refers to, and
/// two writers of the same name never interleave.
/// </summary>
internal sealed class StoreLock : IDisposable
{
    private readonly FileStream _file;

    private StoreLock(FileStream file) => _file = file;

    public static StoreLock Acquire(string modelsDirectory, TimeSpan timeout)
    {
        Directory.CreateDirectory(modelsDirectory);
        string path = Path.Combine(modelsDirectory, ".lock");
        var clock = Stopwatch.StartNew();
        int wait = 2;
        while (true)
        {
            try
            {
                return new StoreLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None));
            }
            catch (IOException) when (clock.Elapsed < timeout)
            {
                Thread.Sleep(wait);
                wait = Math.Min(wait * 2, 100);
            }
            catch (IOException e)
            {
                throw new HubException($"the model store {modelsDirectory} is busy: another process has held {path} for {timeout.TotalSeconds:F0} s", e);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
