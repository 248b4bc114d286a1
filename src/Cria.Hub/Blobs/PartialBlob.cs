using Microsoft.Win32.SafeHandles;

namespace Cria.Hub.Blobs;

/// <summary>
/// A blob being downloaded: <c>blobs/sha256-&lt;hex&gt;-partial</c>, which survives an interrupted
/// transfer or a killed process so a later pull can resume from <see cref="Length"/> (HTTP <c>Range</c>)
/// or fill ranges in parallel (<see cref="WriteAt"/>).
/// Invariant: only the holder of this object writes the partial file (it is opened exclusively — a
/// second opener, in this or another process, gets a <see cref="BlobInUseException"/>); the blob itself
/// appears only through <see cref="Commit"/>, after the whole file hashed to <see cref="Expected"/>; a
/// file that does not is deleted, never published. While open it holds the directory's
/// <see cref="WriterLock"/> shared, so <c>cria doctor --repair</c> leaves a live download alone.
/// </summary>
public sealed class PartialBlob : IDisposable
{
    private readonly BlobStore _store;
    private readonly SafeFileHandle _handle;
    private readonly WriterLock _writers;
    private bool _done;

    internal PartialBlob(BlobStore store, Digest expected, long size, WriterLock writers)
    {
        _store = store;
        _writers = writers;
        Expected = expected;
        Size = size;
        FilePath = store.PathOf(expected) + BlobStore.PartialSuffix;
        try
        {
            _handle = File.OpenHandle(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
        {
            throw new BlobInUseException($"blob {expected} is being downloaded by another process or pull ({FilePath} is locked)", e);
        }
        try
        {
            long length = RandomAccess.GetLength(_handle);
            if (length > size)
            {
                RandomAccess.SetLength(_handle, 0); // longer than the blob can be: not a prefix of it
                length = 0;
            }
            if (length < size)
            {
                DiskSpace.Ensure(store.Directory, size - length);
            }
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    public Digest Expected { get; }

    /// <summary>The blob's full size in bytes.</summary>
    public long Size { get; }

    public string FilePath { get; }

    /// <summary>Bytes in the partial file now: where a sequential download resumes.</summary>
    public long Length => RandomAccess.GetLength(_handle);

    /// <summary>Writes bytes at an offset (thread-safe for ranges that do not overlap).</summary>
    public void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset > Size - data.Length)
        {
            throw new HubException($"{data.Length} bytes at offset {offset:N0} run past the end of blob {Expected} ({Size:N0} bytes)");
        }
        RandomAccess.Write(_handle, data, offset);
    }

    /// <summary>Empties the partial file: its bytes are not a prefix of the blob (a server that ignores <c>Range</c>, a stale layout).</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        RandomAccess.SetLength(_handle, 0);
    }

    /// <summary>Appends at the current end of the file (a sequential download).</summary>
    public void Append(ReadOnlySpan<byte> data) => WriteAt(Length, data);

    /// <summary>
    /// Hashes the whole file; if it is <see cref="Size"/> bytes with digest <see cref="Expected"/>, flushes it
    /// and renames it into place. Otherwise deletes it and throws.
    /// </summary>
    /// <exception cref="DigestMismatchException">The content is not the expected blob.</exception>
    public BlobInfo Commit(IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        long length = Length;
        if (length != Size)
        {
            throw new HubException($"blob {Expected} is incomplete: {length:N0} of {Size:N0} bytes");
        }
        // Hash, flush and rename while the file is still open (and locked), so no other writer can
        // open the partial file between the check and the rename.
        using var reader = new FileStream(_handle, FileAccess.ReadWrite, 1);
        reader.Position = 0;
        Digest actual = BlobStore.Hash(reader, progress, cancel);
        if (actual != Expected)
        {
            BlobStore.TryDelete(FilePath);
            _done = true;
            _writers.Dispose();
            throw new DigestMismatchException($"downloaded content has {actual} but {Expected} was expected; the partial file was deleted");
        }
        reader.Flush(flushToDisk: true);
        bool created = _store.Publish(FilePath, Expected, Size);
        BlobStore.TryDelete(FilePath); // still there only when an identical blob was already published
        _done = true;
        _writers.Dispose();
        return new BlobInfo(Expected, Size, created);
    }

    /// <summary>Deletes the partial file (the transfer will start over).</summary>
    public void Discard()
    {
        if (!_done)
        {
            _done = true;
            _handle.Dispose();
        }
        BlobStore.TryDelete(FilePath);
        _writers.Dispose();
    }

    /// <summary>Releases the lock and keeps the partial file for a later resume.</summary>
    public void Dispose()
    {
        if (!_done)
        {
            _done = true;
            _handle.Dispose();
        }
        _writers.Dispose();
    }
}
