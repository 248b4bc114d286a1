using System.Text;

namespace Cria.Core.IO;

/// <summary>
/// Whole-file writes that a crash (or <c>kill -9</c>) cannot leave half done. Invariant: the target
/// path holds either its old content or the complete new content, never a prefix — the bytes go to a
/// private temporary file in the same folder (<c>.NAME.PID-GUID.tmp</c>: same file system, so the
/// rename is atomic; the process id says whose it is), are flushed to disk, and only then is the file
/// renamed over the target. A temporary file is deleted when the write fails; one left by a killed
/// process is recognisable by its name and harmless.
/// </summary>
public static class AtomicFile
{
    /// <summary>A new temporary path beside <paramref name="path"/>, owned by this process.</summary>
    public static string TemporaryPathFor(string path)
    {
        string full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Writes the file with <paramref name="write"/> (temporary file, flush to disk, rename).</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string temp = TemporaryPathFor(full);
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> as the whole file, atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, s => s.Write(bytes));
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte order mark), atomically.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the write already failed; a leftover temporary file is harmless
        }
    }
}
