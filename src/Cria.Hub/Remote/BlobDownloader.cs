using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

using Cria.Hub.Blobs;

namespace Cria.Hub.Remote;

/// <summary>
/// Downloads one blob of known digest and size into the store.
/// Invariant: the blob becomes visible only through <see cref="PartialBlob.Commit"/> — complete, and
/// hashing to its digest (else the partial file is deleted); its bytes are written only while this
/// downloader holds the partial file's lock (another pull of the same blob waits, then finds it done);
/// and the partial file never holds bytes that are not the blob's at their offset: without a
/// <see cref="PartsFile"/> it is a prefix (sequential writes), with one it is that prefix plus each
/// part's [start, next). So a dropped connection resumes with <c>Range</c> from where it stopped, a killed
/// process resumes on the next pull, and anything that does not add up is emptied, never trusted.
/// </summary>
internal sealed class BlobDownloader(RemoteHttp http, BlobStore blobs)
{
    private const int BufferSize = 1 << 16;
    private static readonly TimeSpan s_saveEvery = TimeSpan.FromSeconds(1);

    private PullOptions Options => http.Options;

    /// <summary>Fetches <paramref name="url"/> as blob <paramref name="digest"/> of <paramref name="size"/> bytes, unless the store has it.</summary>
    /// <exception cref="DigestMismatchException">The server sent other bytes; nothing was stored.</exception>
    /// <exception cref="HubException">The transfer failed for good (after retries), or the server broke the protocol.</exception>
    public async Task<BlobInfo> DownloadAsync(Digest digest, long size, Uri url, IProgress<PullProgress>? progress, CancellationToken cancel)
    {
        string item = digest.ToString();
        if (size < 0 || size > Options.MaxBlobBytes)
        {
            throw new HubException($"blob {digest} is announced with {size:N0} bytes; at most {Options.MaxBlobBytes:N0} are accepted");
        }
        using PartialBlob? partial = await AcquireAsync(digest, size, progress, cancel).ConfigureAwait(false);
        if (partial is null)
        {
            progress?.Report(new PullProgress("already in the store", item, size, size));
            return new BlobInfo(digest, size, Created: false);
        }
        var counter = new TransferCounter(progress, "downloading", item, size);
        await FetchAsync(partial, url, counter, cancel).ConfigureAwait(false);
        counter.Report(force: true);
        progress?.Report(new PullProgress("verifying sha256", item, 0, 0));
        string partsPath = partial.FilePath + PartsFile.Suffix;
        try
        {
            BlobInfo info = partial.Commit(null, cancel);
            PartsFile.Delete(partsPath);
            return info;
        }
        catch (DigestMismatchException e)
        {
            PartsFile.Delete(partsPath);
            throw new DigestMismatchException($"blob {digest} from {RemoteAddress.Show(url)} is corrupt: {e.Message}", e);
        }
    }

    /// <summary>The partial file's lock; null when the blob is (or, after waiting for another pull, has become) complete in the store.</summary>
    private async Task<PartialBlob?> AcquireAsync(Digest digest, long size, IProgress<PullProgress>? progress, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        bool told = false;
        while (true)
        {
            if (blobs.TryGetSize(digest, out long have) && have == size)
            {
                return null;
            }
            try
            {
                return blobs.OpenPartial(digest, size);
            }
            catch (BlobInUseException e)
            {
                if (clock.Elapsed > Options.BlobLockWait)
                {
                    throw new HubException($"blob {digest} is still being downloaded by another pull after {clock.Elapsed.TotalSeconds:F0} s; try again when it has finished", e);
                }
                if (!told)
                {
                    progress?.Report(new PullProgress("waiting for another pull of this blob", digest.ToString(), 0, 0));
                    told = true;
                }
                await Task.Delay(200, cancel).ConfigureAwait(false);
            }
        }
    }

    private async Task FetchAsync(PartialBlob partial, Uri url, TransferCounter counter, CancellationToken cancel)
    {
        long size = partial.Size;
        string partsPath = partial.FilePath + PartsFile.Suffix;
        long length = partial.Length;
        (PartsFile.State state, List<DownloadPart>? parts) = PartsFile.Load(partsPath, size, length);
        if (state == PartsFile.State.Invalid)
        {
            partial.Reset(); // the file may have holes nobody can account for
            PartsFile.Delete(partsPath);
            length = 0;
        }
        if (parts is null)
        {
            if (length == size)
            {
                counter.Set(size);
                return; // complete from an earlier run that stopped before verifying
            }
            if (Options.ParallelParts > 1 && size - length >= Options.ParallelThreshold)
            {
                parts = Split(length, size, Options.ParallelParts);
                PartsFile.Save(partsPath, size, parts);
            }
        }
        if (parts is null)
        {
            counter.Set(length);
            await FetchPartAsync(partial, url, new DownloadPart(0, length, size), sequential: true, counter, cancel).ConfigureAwait(false);
            return;
        }
        counter.Set(parts[0].Start + parts.Sum(p => p.Next - p.Start));
        try
        {
            await FetchPartsAsync(partial, url, parts, partsPath, counter, cancel).ConfigureAwait(false);
            PartsFile.Save(partsPath, size, parts);
        }
        catch (RangesNotSupportedException)
        {
            partial.Reset();
            PartsFile.Delete(partsPath);
            counter.Set(0);
            await FetchPartAsync(partial, url, new DownloadPart(0, 0, size), sequential: true, counter, cancel).ConfigureAwait(false);
        }
    }

    private static List<DownloadPart> Split(long from, long size, int count)
    {
        long each = (size - from + count - 1) / count;
        var parts = new List<DownloadPart>(count);
        for (long start = from; start < size; start += each)
        {
            parts.Add(new DownloadPart(start, start, Math.Min(start + each, size)));
        }
        return parts;
    }

    /// <summary>All unfinished parts at once; the first failure cancels the others; the parts file is saved as they go and at the end.</summary>
    private async Task FetchPartsAsync(PartialBlob partial, Uri url, List<DownloadPart> parts, string partsPath, TransferCounter counter, CancellationToken cancel)
    {
        using var all = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var saveLock = new object();
        void Save()
        {
            lock (saveLock)
            {
                PartsFile.Save(partsPath, partial.Size, parts);
            }
        }
        async Task Run(DownloadPart part)
        {
            try
            {
                await FetchPartAsync(partial, url, part, sequential: false, counter, all.Token).ConfigureAwait(false);
            }
            catch
            {
                await all.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }
        Task[] tasks = [.. parts.Where(p => p.Next < p.End).Select(Run)];
        Task done = Task.WhenAll(tasks);
        while (await Task.WhenAny(done, Task.Delay(s_saveEvery, CancellationToken.None)).ConfigureAwait(false) != done)
        {
            Save();
        }
        Save();
        if (done.IsCompletedSuccessfully)
        {
            return;
        }
        Exception[] errors = [.. tasks.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions)];
        Exception first = errors.FirstOrDefault(e => e is RangesNotSupportedException)
            ?? errors.FirstOrDefault(e => e is not OperationCanceledException)
            ?? errors.FirstOrDefault()
            ?? new OperationCanceledException(cancel);
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
    }

    /// <summary>One part to its end, resuming after transient failures from where it stopped; gives up after <see cref="PullOptions.MaxRetries"/> failures in a row without progress.</summary>
    private async Task FetchPartAsync(PartialBlob partial, Uri url, DownloadPart part, bool sequential, TransferCounter counter, CancellationToken cancel)
    {
        int failures = 0;
        while (part.Next < part.End)
        {
            long before = part.Next;
            try
            {
                await FetchOnceAsync(partial, url, part, sequential, counter, cancel).ConfigureAwait(false);
            }
            catch (TransientException e)
            {
                failures = part.Next > before ? 1 : failures + 1;
                if (failures > Options.MaxRetries)
                {
                    throw new HubException($"download of blob {partial.Expected} from {RemoteAddress.Show(url)} failed after {failures} attempts: {e.Message}; run the pull again to resume", e);
                }
                await Task.Delay(http.Backoff(failures, e.RetryAfter), cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One request for the rest of a part: checks the status, Content-Range and Content-Length against what was asked, then writes what arrives at its offset.</summary>
    private async Task FetchOnceAsync(PartialBlob partial, Uri url, DownloadPart part, bool sequential, TransferCounter counter, CancellationToken cancel)
    {
        long size = partial.Size;
        long from = part.Next;
        bool whole = from == 0 && part.End == size;
        string what = $"blob {partial.Expected}";
        using HttpResponseMessage r = await http.SendAsync(HttpMethod.Get, url, req =>
        {
            if (!whole)
            {
                req.Headers.Range = new RangeHeaderValue(from, part.End - 1);
            }
        }, RedirectMode.Any, cancel).ConfigureAwait(false);

        long end; // this response covers [from, end)
        switch (r.StatusCode)
        {
            case HttpStatusCode.PartialContent when !whole:
                ContentRangeHeaderValue? cr = r.Content.Headers.ContentRange;
                if (cr is null || !cr.HasRange || cr.From != from || cr.To is not long to || to < from || to >= part.End
                    || (cr.HasLength && cr.Length != size) || !string.Equals(cr.Unit, "bytes", StringComparison.OrdinalIgnoreCase))
                {
                    throw new HubException($"{what}: asked for bytes {from}-{part.End - 1} of {size}, the server answered Content-Range \"{cr}\"");
                }
                end = to + 1;
                break;
            case HttpStatusCode.OK when whole:
                end = size;
                break;
            case HttpStatusCode.OK or HttpStatusCode.PartialContent when sequential:
                // The server ignores Range (or ranged a whole-file request): start over from byte 0.
                if (r.StatusCode == HttpStatusCode.PartialContent)
                {
                    throw new HubException($"{what}: the server answered a request for the whole blob with a partial one");
                }
                partial.Reset();
                part.Next = from = 0;
                counter.Set(0);
                end = size;
                break;
            case HttpStatusCode.OK:
                throw new RangesNotSupportedException();
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                throw new HubException($"{what}: the server cannot send bytes {from}-{part.End - 1}; its blob is not the {size:N0} bytes the manifest says");
            default:
                await RemoteHttp.ThrowForStatusAsync(r, what, cancel).ConfigureAwait(false);
                throw new HubException($"{what}: unexpected answer {(int)r.StatusCode} from {RemoteAddress.Show(url)}");
        }
        if (r.Content.Headers.ContentLength is long length && length != end - from)
        {
            throw new HubException($"{what}: the server announced {length:N0} bytes (Content-Length) for a range of {end - from:N0}");
        }

        Stream body = await r.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long pos = from;
            while (pos < end)
            {
                int want = (int)Math.Min(BufferSize, end - pos);
                int n = await http.ReadAsync(body, buffer.AsMemory(0, want), cancel).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new TransientException($"the connection closed after {pos - from:N0} of {end - from:N0} bytes");
                }
                partial.WriteAt(pos, buffer.AsSpan(0, n));
                pos += n;
                part.Next = pos;
                counter.Add(n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A ranged request got the whole blob: parallel parts are impossible with this server.</summary>
    private sealed class RangesNotSupportedException : Exception
    {
        public RangesNotSupportedException()
            : base("the server does not support Range requests")
        {
        }
    }
}
