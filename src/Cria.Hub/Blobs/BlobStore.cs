using System.Buffers;
using System.Security.Cryptography;

namespace Cria.Hub.Blobs;

/// <summary>
/// Content-addressed files: <c>blobs/sha256-&lt;hex&gt;</c>, Ollama's layout.
/// Invariant: a file named <c>sha256-&lt;hex&gt;</c> exists only once it is complete and its SHA-256 is
/// that hex — content is written to a private temporary file (<c>.tmp-*</c>) while it is hashed, checked
/// against the expected digest and size when given, validated when asked, flushed to disk, and only
/// then renamed into place (rename is atomic). Writers of the same blob never share a file, so two of
/// them cannot corrupt it: both write their own temporary file and whichever renames second replaces
/// identical content, or finds the blob already there. A temporary file's name carries its writer's
/// process id (<c>.tmp-PID-GUID</c>), and every writer holds the directory's <see cref="WriterLock"/>
/// shared while it writes, so <c>cria doctor</c> can tell a dead writer's leftovers from live work.
/// </summary>
public sealed class BlobStore
{
    internal const string TempPrefix = ".tmp-";
    internal const string PartialSuffix = "-partial";
    private const int BufferSize = 1 << 20;

    /// <param name="directory">The blob directory (<c>$CRIA_HOME/models/blobs</c>); created on the first write.</param>
    public BlobStore(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
    }

    public string Directory { get; }

    /// <summary>The file a blob is (or would be) stored in. The digest's form guarantees it is inside <see cref="Directory"/>.</summary>
    public string PathOf(Digest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        return Path.Combine(Directory, digest.FileName);
    }

    public bool Exists(Digest digest) => File.Exists(PathOf(digest));

    /// <summary>The stored blob's size, or false when it is not in the store.</summary>
    public bool TryGetSize(Digest digest, out long size)
    {
        var info = new FileInfo(PathOf(digest));
        size = info.Exists ? info.Length : 0;
        return info.Exists;
    }

    /// <summary>Opens a stored blob for reading (shared, seekable).</summary>
    /// <exception cref="HubException">The blob is not in the store, or its file is not a regular file.</exception>
    public FileStream OpenRead(Digest digest)
    {
        string path = CheckedPath(digest);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
    }

    /// <summary>Reads a small blob (template, parameters, licence…) as UTF-8 text.</summary>
    /// <exception cref="HubException">Missing, or larger than <paramref name="maxBytes"/>.</exception>
    public string ReadText(Digest digest, int maxBytes)
    {
        using FileStream s = OpenRead(digest);
        if (s.Length > maxBytes)
        {
            throw new HubException($"blob {digest} is {s.Length:N0} bytes; at most {maxBytes:N0} are read as text");
        }
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return new System.Text.UTF8Encoding(false, false).GetString(bytes);
    }

    /// <summary>Stores <paramref name="source"/> read to its end.</summary>
    /// <param name="expected">When given: the content must hash to it (else <see cref="DigestMismatchException"/>), and if the blob is already stored the source is not read at all.</param>
    /// <param name="expectedSize">When ≥ 0: the content must be exactly this long; free disk space is checked for it first.</param>
    /// <param name="validate">Called with the complete temporary file before it is published; throw to reject the content.</param>
    /// <param name="progress">Receives the number of bytes written so far, synchronously.</param>
    public BlobInfo Put(Stream source, Digest? expected = null, long expectedSize = -1, Action<string>? validate = null,
        IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (expected is not null && TryGetSize(expected, out long existing) && (expectedSize < 0 || existing == expectedSize))
        {
            return new BlobInfo(expected, existing, Created: false);
        }
        System.IO.Directory.CreateDirectory(Directory);
        using WriterLock writers = WriterLock.EnterShared(Directory);
        long known = expectedSize >= 0 ? expectedSize : source.CanSeek ? Math.Max(source.Length - source.Position, 0) : -1;
        if (known > 0)
        {
            DiskSpace.Ensure(Directory, known);
        }

        string temp = Path.Combine(Directory, NewTemporaryName());
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                int n;
                while ((n = source.Read(buffer, 0, BufferSize)) > 0)
                {
                    cancel.ThrowIfCancellationRequested();
                    total += n;
                    if (expectedSize >= 0 && total > expectedSize)
                    {
                        throw new HubException($"content for {expected?.ToString() ?? "a blob"} is longer than the expected {expectedSize:N0} bytes");
                    }
                    hash.AppendData(buffer, 0, n);
                    output.Write(buffer, 0, n);
                    progress?.Report(total);
                }
                cancel.ThrowIfCancellationRequested();
                output.Flush(flushToDisk: true);
            }
            if (expectedSize >= 0 && total != expectedSize)
            {
                throw new HubException($"content for {expected?.ToString() ?? "a blob"} ended after {total:N0} bytes; {expectedSize:N0} were expected");
            }
            Digest digest = Digest.FromHash(hash.GetHashAndReset());
            if (expected is not null && digest != expected)
            {
                throw new DigestMismatchException($"content has {digest} but {expected} was expected; nothing was stored");
            }
            validate?.Invoke(temp);
            bool created = Publish(temp, digest, total);
            return new BlobInfo(digest, total, created);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            TryDelete(temp);
        }
    }

    /// <summary>
    /// <see cref="Put"/> for a stream that must be read asynchronously (an HTTP request body): the same
    /// temporary file, hash, size and digest checks, validation and atomic rename.
    /// </summary>
    public async Task<BlobInfo> PutAsync(Stream source, Digest? expected, long expectedSize, Action<string>? validate = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (expected is not null && TryGetSize(expected, out long existing) && (expectedSize < 0 || existing == expectedSize))
        {
            return new BlobInfo(expected, existing, Created: false);
        }
        System.IO.Directory.CreateDirectory(Directory);
        using WriterLock writers = WriterLock.EnterShared(Directory);
        if (expectedSize > 0)
        {
            DiskSpace.Ensure(Directory, expectedSize);
        }
        string temp = Path.Combine(Directory, NewTemporaryName());
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                int n;
                while ((n = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancel).ConfigureAwait(false)) > 0)
                {
                    total += n;
                    if (expectedSize >= 0 && total > expectedSize)
                    {
                        throw new HubException($"content for {expected?.ToString() ?? "a blob"} is longer than the expected {expectedSize:N0} bytes");
                    }
                    hash.AppendData(buffer, 0, n);
                    await output.WriteAsync(buffer.AsMemory(0, n), cancel).ConfigureAwait(false);
                }
                output.Flush(flushToDisk: true);
            }
            if (expectedSize >= 0 && total != expectedSize)
            {
                throw new HubException($"content for {expected?.ToString() ?? "a blob"} ended after {total:N0} bytes; {expectedSize:N0} were expected");
            }
            Digest digest = Digest.FromHash(hash.GetHashAndReset());
            if (expected is not null && digest != expected)
            {
                throw new DigestMismatchException($"content has {digest} but {expected} was expected; nothing was stored");
            }
            validate?.Invoke(temp);
            bool created = Publish(temp, digest, total);
            return new BlobInfo(digest, total, created);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            TryDelete(temp);
        }
    }

    /// <summary>Stores a copy of a file (see <see cref="Put"/>); the file's length is checked against free space first.</summary>
    public BlobInfo PutFile(string path, Digest? expected = null, Action<string>? validate = null, IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        return Put(source, expected, source.Length, validate, progress, cancel);
    }

    /// <summary>Stores small content held in memory.</summary>
    public BlobInfo PutBytes(ReadOnlySpan<byte> content)
    {
        Digest digest = Digest.Of(content);
        if (TryGetSize(digest, out long size) && size == content.Length)
        {
            return new BlobInfo(digest, size, Created: false);
        }
        using var source = new MemoryStream(content.ToArray(), writable: false);
        return Put(source, digest, content.Length);
    }

    /// <summary>Re-hashes a stored blob. False when its content no longer matches its name (or it is missing).</summary>
    public bool Verify(Digest digest, IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        if (!Exists(digest))
        {
            return false;
        }
        using FileStream s = OpenRead(digest);
        return Hash(s, progress, cancel) == digest;
    }

    /// <summary>Removes a blob; false when it was not there.</summary>
    public bool Delete(Digest digest)
    {
        string path = PathOf(digest);
        if (!File.Exists(path))
        {
            return false;
        }
        File.Delete(path);
        return true;
    }

    /// <summary>The digests of the complete blobs in the store (temporary and partial files are skipped).</summary>
    public IEnumerable<Digest> Enumerate()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            yield break;
        }
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory, Digest.FilePrefix + "*"))
        {
            if (Digest.TryParseFileName(Path.GetFileName(file), out Digest? d))
            {
                yield return d;
            }
        }
    }

    /// <summary>
    /// Opens (or resumes) the partial download of a blob: <c>sha256-&lt;hex&gt;-partial</c>, locked to this
    /// process until disposed. See <see cref="PartialBlob"/>.
    /// </summary>
    public PartialBlob OpenPartial(Digest expected, long size)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        System.IO.Directory.CreateDirectory(Directory);
        WriterLock writers = WriterLock.EnterShared(Directory);
        try
        {
            return new PartialBlob(this, expected, size, writers);
        }
        catch
        {
            writers.Dispose();
            throw;
        }
    }

    /// <summary>Deletes temporary files left by writers that died (older than <paramref name="olderThan"/>); returns how many.</summary>
    public int DeleteStaleTemporaryFiles(TimeSpan olderThan)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return 0;
        }
        int n = 0;
        DateTime cutoff = DateTime.UtcNow - olderThan;
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory, TempPrefix + "*"))
        {
            if (File.GetLastWriteTimeUtc(file) < cutoff && TryDelete(file))
            {
                n++;
            }
        }
        return n;
    }

    /// <summary>Hashes a stream to its end.</summary>
    public static Digest Hash(Stream stream, IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = 0;
            int n;
            while ((n = stream.Read(buffer, 0, BufferSize)) > 0)
            {
                cancel.ThrowIfCancellationRequested();
                hash.AppendData(buffer, 0, n);
                total += n;
                progress?.Report(total);
            }
            return Digest.FromHash(hash.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A new temporary file name for this process: <c>.tmp-PID-GUID</c>.</summary>
    internal static string NewTemporaryName() => $"{TempPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>
    /// Whether <paramref name="fileName"/> is a temporary file of the store (<c>.tmp-PID-GUID</c>, or an
    /// <see cref="Core.IO.AtomicFile"/> name <c>.NAME.PID-GUID.tmp</c>); <paramref name="processId"/> is its
    /// writer's process id, or 0 when the name does not say (an older name).
    /// </summary>
    public static bool IsTemporaryName(string fileName, out int processId)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        processId = 0;
        string owner;
        if (fileName.StartsWith(TempPrefix, StringComparison.Ordinal))
        {
            owner = fileName[TempPrefix.Length..];
        }
        else if (fileName.StartsWith('.') && fileName.EndsWith(".tmp", StringComparison.Ordinal))
        {
            string stem = fileName[..^4];
            owner = stem[(stem.LastIndexOf('.') + 1)..];
        }
        else
        {
            return false;
        }
        int dash = owner.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0 && int.TryParse(owner.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid))
        {
            processId = pid;
        }
        return true;
    }

    /// <summary>Moves a complete, verified temporary file into place; false when an identical blob was already there.</summary>
    internal bool Publish(string temp, Digest digest, long size)
    {
        string final = PathOf(digest);
        if (File.Exists(final) && new FileInfo(final).Length == size)
        {
            return false; // same name, same size: another writer finished first (a tampered blob is Verify's job)
        }
        File.Move(temp, final, overwrite: true); // rename(2): readers see the old file or the new one, never a mix
        return true;
    }

    private string CheckedPath(Digest digest)
    {
        string path = PathOf(digest);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new HubException($"blob {digest} is not in the store ({Directory})");
        }
        if (info.LinkTarget is not null)
        {
            throw new HubException($"blob {digest} is a symbolic link ({path}); the store holds only regular files");
        }
        return path;
    }

    internal static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
