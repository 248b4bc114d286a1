using System.Security.Cryptography;

using Cria.Hub.Blobs;

namespace Cria.Hub.Tests;

public sealed class BlobStoreTests : IDisposable
{
    private readonly TempStore _t = new();

    private BlobStore Blobs => _t.Store.Blobs;

    public void Dispose() => _t.Dispose();

    private static byte[] Content(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Put_stores_content_under_its_sha256_and_reads_it_back()
    {
        byte[] content = Content(3 << 20, 1); // several buffers
        BlobInfo info = Blobs.Put(new MemoryStream(content));
        Assert.True(info.Created);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), info.Digest.Hex);
        Assert.Equal(content.Length, info.Size);
        Assert.True(Blobs.Exists(info.Digest));
        Assert.True(Blobs.TryGetSize(info.Digest, out long size));
        Assert.Equal(content.Length, size);
        Assert.Equal(Path.Combine(Blobs.Directory, "sha256-" + info.Digest.Hex), Blobs.PathOf(info.Digest));
        using (FileStream s = Blobs.OpenRead(info.Digest))
        {
            var back = new byte[s.Length];
            s.ReadExactly(back);
            Assert.Equal(content, back);
        }
        Assert.True(Blobs.Verify(info.Digest));
        Assert.Equal([info.Digest], Blobs.Enumerate());
        Assert.Equal(["blobs/sha256-" + info.Digest.Hex], _t.Files());

        BlobInfo again = Blobs.Put(new MemoryStream(content));
        Assert.False(again.Created);
        Assert.Equal(info.Digest, again.Digest);
    }

    [Fact]
    public void Put_with_the_expected_digest_skips_reading_when_the_blob_is_there()
    {
        byte[] content = Content(1000, 2);
        BlobInfo first = Blobs.PutBytes(content);
        var unreadable = new ThrowingStream(content, throwAfter: 0);
        BlobInfo second = Blobs.Put(unreadable, first.Digest, content.Length);
        Assert.False(second.Created);
        Assert.Equal(0, unreadable.Reads);
    }

    [Fact]
    public void Wrong_content_for_an_expected_digest_is_refused_and_leaves_nothing()
    {
        byte[] content = Content(5000, 3);
        Digest other = Digest.Of(Content(5000, 4));
        DigestMismatchException e = Assert.Throws<DigestMismatchException>(() => Blobs.Put(new MemoryStream(content), other));
        Assert.Contains(other.ToString(), e.Message);
        Assert.Contains(Digest.Of(content).ToString(), e.Message);
        Assert.Empty(_t.Files());
    }

    [Fact]
    public void Content_of_the_wrong_length_is_refused()
    {
        byte[] content = Content(100, 5);
        Assert.Contains("longer than the expected 50", Assert.Throws<HubException>(() => Blobs.Put(new MemoryStream(content), null, 50)).Message);
        Assert.Contains("ended after 100 bytes; 200", Assert.Throws<HubException>(() => Blobs.Put(new MemoryStream(content), null, 200)).Message);
        Assert.Empty(_t.Files());
    }

    [Fact]
    public void A_tampered_blob_fails_verification()
    {
        BlobInfo info = Blobs.PutBytes(Content(4096, 6));
        Assert.True(Blobs.Verify(info.Digest));
        string path = Blobs.PathOf(info.Digest);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[1234] ^= 1;
        File.WriteAllBytes(path, bytes);
        Assert.False(Blobs.Verify(info.Digest));
        Assert.False(Blobs.Verify(Digest.Of([1, 2, 3]))); // missing
    }

    [Fact]
    public void A_write_interrupted_mid_stream_leaves_no_blob_and_no_temporary_file()
    {
        byte[] content = Content(5 << 20, 7);
        var failing = new ThrowingStream(content, throwAfter: 3);
        Assert.Throws<IOException>(() => Blobs.Put(failing, Digest.Of(content), content.Length));
        Assert.False(Blobs.Exists(Digest.Of(content)));
        Assert.Empty(_t.Files());

        using var cancel = new CancellationTokenSource();
        var progress = new SyncProgress<long>(n =>
        {
            if (n > 1 << 20)
            {
                cancel.Cancel();
            }
        });
        Assert.Throws<OperationCanceledException>(() => Blobs.Put(new MemoryStream(content), progress: progress, cancel: cancel.Token));
        Assert.Empty(_t.Files());
    }

    [Fact]
    public void Validation_runs_on_the_complete_file_before_it_is_published()
    {
        byte[] content = Content(2048, 8);
        string? seen = null;
        Assert.Throws<InvalidDataException>(() => Blobs.Put(new MemoryStream(content), validate: path =>
        {
            seen = path;
            Assert.Equal(content, File.ReadAllBytes(path));
            throw new InvalidDataException("not a model");
        }));
        Assert.NotNull(seen);
        Assert.False(File.Exists(seen));
        Assert.Empty(_t.Files());
    }

    [Fact]
    public void Concurrent_puts_of_one_blob_all_succeed_and_it_stays_intact()
    {
        byte[] content = Content(4 << 20, 9);
        Digest expected = Digest.Of(content);
        const int writers = 8;
        var results = new BlobInfo[writers];
        using var start = new Barrier(writers);
        var threads = Enumerable.Range(0, writers).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            // half know the digest, half don't: both paths race to the same name
            results[i] = Blobs.Put(new SlowStream(content), i % 2 == 0 ? expected : null);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(results, r => Assert.Equal(expected, r.Digest));
        Assert.Contains(results, r => r.Created);
        Assert.True(Blobs.Verify(expected));
        Assert.Equal(["blobs/" + expected.FileName], _t.Files());
    }

    [Fact]
    public void Free_space_is_checked_before_a_blob_of_known_size_is_written()
    {
        IOException e = Assert.Throws<IOException>(() => Blobs.Put(new MemoryStream([1, 2, 3]), null, long.MaxValue / 2));
        Assert.Contains("not enough free disk space", e.Message);
        Assert.NotNull(DiskSpace.Available(_t.Root));
        Assert.Empty(_t.Files());
    }

    [Fact]
    public void A_partial_blob_resumes_and_is_published_only_when_its_digest_matches()
    {
        byte[] content = Content(300_000, 10);
        Digest digest = Digest.Of(content);
        using (PartialBlob p = Blobs.OpenPartial(digest, content.Length))
        {
            Assert.Equal(0, p.Length);
            p.Append(content.AsSpan(0, 100_000));
            Assert.Throws<BlobInUseException>(() => Blobs.OpenPartial(digest, content.Length)); // one writer at a time
        }
        Assert.False(Blobs.Exists(digest)); // invisible until committed
        Assert.Empty(Blobs.Enumerate());

        using (PartialBlob p = Blobs.OpenPartial(digest, content.Length))
        {
            Assert.Equal(100_000, p.Length);
            p.WriteAt(200_000, content.AsSpan(200_000));
            p.WriteAt(100_000, content.AsSpan(100_000, 100_000));
            Assert.Throws<HubException>(() => p.WriteAt(299_999, content.AsSpan(0, 2)));
            BlobInfo info = p.Commit();
            Assert.True(info.Created);
        }
        Assert.True(Blobs.Verify(digest));
        Assert.Equal(["blobs/" + digest.FileName], _t.Files());
    }

    [Fact]
    public void A_partial_blob_with_wrong_content_is_deleted_not_published()
    {
        byte[] content = Content(10_000, 11);
        Digest digest = Digest.Of(content);
        using PartialBlob p = Blobs.OpenPartial(digest, content.Length);
        byte[] corrupt = (byte[])content.Clone();
        corrupt[5000] ^= 0xFF;
        p.Append(corrupt);
        Assert.Throws<DigestMismatchException>(() => p.Commit());
        Assert.False(Blobs.Exists(digest));
        Assert.Empty(_t.Files());
    }

    [Fact]
    public void Stale_temporary_files_are_cleaned_and_never_listed()
    {
        Directory.CreateDirectory(Blobs.Directory);
        string stale = Path.Combine(Blobs.Directory, ".tmp-deadbeef");
        File.WriteAllText(stale, "half a blob");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-2));
        File.WriteAllText(Path.Combine(Blobs.Directory, "sha256-notadigest"), "x");
        Assert.Empty(Blobs.Enumerate());
        Assert.Equal(1, Blobs.DeleteStaleTemporaryFiles(TimeSpan.FromHours(1)));
        Assert.False(File.Exists(stale));
    }

    [Fact]
    public void A_symlinked_blob_is_not_opened()
    {
        Directory.CreateDirectory(Blobs.Directory);
        string secret = _t.WriteFile("secret.txt", "not for the hub");
        Digest d = Digest.Of(File.ReadAllBytes(secret));
        File.CreateSymbolicLink(Blobs.PathOf(d), secret);
        Assert.Contains("symbolic link", Assert.Throws<HubException>(() => Blobs.OpenRead(d)).Message);
    }

    /// <summary>Hands out the content a chunk at a time, throwing an IOException after <c>throwAfter</c> reads.</summary>
    private sealed class ThrowingStream(byte[] content, int throwAfter) : Stream
    {
        private int _position;

        public int Reads { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Reads++ >= throwAfter)
            {
                throw new IOException("connection reset");
            }
            int n = Math.Min(Math.Min(count, 64 * 1024), content.Length - _position);
            Array.Copy(content, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Small reads with a yield between them, so concurrent writers interleave.</summary>
    private sealed class SlowStream(byte[] content) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Thread.Yield();
            int n = Math.Min(Math.Min(count, 256 * 1024), content.Length - _position);
            Array.Copy(content, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>An IProgress that calls back synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
