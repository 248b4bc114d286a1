using Cria.Hub;
using Cria.Hub.Remote;
using Cria.Hub.Store;
using Cria.Tests.Fakes;

namespace Cria.HubServer.Tests;

/// <summary>Downloads against a fake registry that misbehaves: drops, corruption, no Range, slowness, cancellation, concurrency.</summary>
public sealed class DownloadTests : IDisposable
{
    private readonly TestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    private string PartialPath(StoredManifest m) => _bed.B.Blobs.PathOf(TestBed.ModelDigest(m)) + "-partial";

    /// <summary>Where each request for the weights started: 0 for a whole-blob request, else the Range's first byte.</summary>
    private static long[] Starts(FakeRegistry fake, StoredManifest m) =>
        [.. fake.Requests.Where(r => r.StartsWith(TestBed.ModelDigest(m).ToString(), StringComparison.Ordinal))
            .Select(r => r.Split(' ', 2)[1]).Select(range => range.Length == 0 ? 0 : long.Parse(range["bytes=".Length..].Split('-')[0], System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public async Task A_connection_dropped_mid_blob_is_resumed_with_range()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using FakeRegistry fake = await TestBed.FakeFor(_bed.A, a);
        fake.DropAfter = 300_000;
        fake.DropTimes = 2;

        PullResult r = await new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{fake.Host}/library/stories");

        Assert.Equal(a.Digest, r.Stored.Digest);
        Assert.True(_bed.B.Blobs.Verify(TestBed.ModelDigest(a)));
        long[] starts = Starts(fake, a);
        Assert.Equal(3, starts.Length);
        Assert.Equal(0, starts[0]);
        // Each retry asks for the rest, from what arrived before the drop. How much that is depends on
        // socket buffering (bytes in flight when the connection was reset are lost), so only progress is asserted.
        Assert.True(starts[1] > 0 && starts[2] > starts[1], string.Join(", ", starts));
        Assert.False(File.Exists(PartialPath(a)));
    }

    [Fact]
    public async Task A_failed_pull_keeps_its_partial_file_and_the_next_pull_resumes_from_it()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using FakeRegistry fake = await TestBed.FakeFor(_bed.A, a);
        fake.DropAfter = 400_000;
        fake.DropTimes = 1;

        HubException e = await Assert.ThrowsAsync<HubException>(() => new ModelPuller(_bed.B, TestBed.Fast with { MaxRetries = 0 }).PullAsync($"{fake.Host}/library/stories"));
        Assert.Contains("run the pull again to resume", e.Message);
        Assert.Null(_bed.B.Find(ModelName.Parse($"{fake.Host}/library/stories")));
        long kept = new FileInfo(PartialPath(a)).Length;
        Assert.True(kept is > 0 and <= 400_000, $"{kept}");

        PullResult r = await new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{fake.Host}/library/stories");
        Assert.Equal(a.Digest, r.Stored.Digest);
        Assert.Equal([0, kept], Starts(fake, a));
        Assert.True(_bed.B.Blobs.Verify(TestBed.ModelDigest(a)));
    }

    [Fact]
    public async Task A_corrupted_blob_is_a_clear_error_and_leaves_nothing_visible()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using FakeRegistry fake = await TestBed.FakeFor(_bed.A, a);
        fake.Corrupt = true;

        DigestMismatchException e = await Assert.ThrowsAsync<DigestMismatchException>(() => new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{fake.Host}/library/stories"));
        Assert.Contains($"blob {TestBed.ModelDigest(a)}", e.Message);
        Assert.Contains("corrupt", e.Message);
        Assert.Null(_bed.B.Find(ModelName.Parse($"{fake.Host}/library/stories")));
        Assert.Empty(_bed.B.List());
        Assert.DoesNotContain(TestBed.Files(_bed.B), f => f.Contains(TestBed.ModelDigest(a).Hex, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Large_blobs_come_in_parallel_ranges_and_a_server_without_range_still_works()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using FakeRegistry fake = await TestBed.FakeFor(_bed.A, a);
        PullOptions parallel = TestBed.Fast with { ParallelThreshold = 64 << 10, ParallelParts = 4 };

        PullResult r = await new ModelPuller(_bed.B, parallel).PullAsync($"{fake.Host}/library/stories");
        Assert.Equal(a.Digest, r.Stored.Digest);
        long size = TestBed.ModelDigest(a) is var d && _bed.A.Blobs.TryGetSize(d, out long s) ? s : 0;
        long each = (size + 3) / 4;
        Assert.Equal([0, each, 2 * each, 3 * each], Starts(fake, a).Order());
        Assert.False(File.Exists(PartialPath(a) + ".parts"));

        // the same with drops in the middle of parts, resumed per part
        ModelStore c = _bed.Store("C");
        fake.DropAfter = 100_000;
        fake.DropTimes = 3;
        Assert.Equal(a.Digest, (await new ModelPuller(c, parallel).PullAsync($"{fake.Host}/library/stories")).Stored.Digest);
        Assert.True(c.Blobs.Verify(TestBed.ModelDigest(a)));

        // a server that ignores Range: the parts give way to one whole download
        ModelStore e = _bed.Store("E");
        fake.DropTimes = 0;
        fake.IgnoreRange = true;
        Assert.Equal(a.Digest, (await new ModelPuller(e, parallel).PullAsync($"{fake.Host}/library/stories")).Stored.Digest);
        Assert.True(e.Blobs.Verify(TestBed.ModelDigest(a)));
    }

    [Fact]
    public async Task A_cancelled_pull_leaves_a_partial_file_that_the_next_pull_resumes()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using FakeRegistry fake = await TestBed.FakeFor(_bed.A, a);
        fake.ChunkDelay = TimeSpan.FromMilliseconds(50);
        using var cancel = new CancellationTokenSource();
        Task<PullResult> pull = new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{fake.Host}/library/stories", null, cancel.Token);
        string partial = PartialPath(a);
        for (int i = 0; i < 400 && !(File.Exists(partial) && new FileInfo(partial).Length > 100_000); i++)
        {
            await Task.Delay(25);
        }
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pull);
        long kept = new FileInfo(partial).Length;
        Assert.True(kept > 100_000, $"{kept}");

        fake.ChunkDelay = TimeSpan.Zero;
        PullResult r = await new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{fake.Host}/library/stories");
        Assert.Equal(a.Digest, r.Stored.Digest);
        long[] starts = Starts(fake, a);
        Assert.Equal(kept, starts[^1]);
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task Two_concurrent_pulls_of_one_blob_store_it_once_and_correctly()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using FakeRegistry fake = await TestBed.FakeFor(_bed.A, a);
        fake.ChunkDelay = TimeSpan.FromMilliseconds(5);
        var puller = new ModelPuller(_bed.B, TestBed.Fast);
        var other = new ModelPuller(new ModelStore(_bed.B.Home), TestBed.Fast);

        PullResult[] both = await Task.WhenAll(
            puller.PullAsync($"{fake.Host}/library/stories"),
            other.PullAsync($"{fake.Host}/library/stories:latest"));

        Assert.All(both, r => Assert.Equal(a.Digest, r.Stored.Digest));
        Assert.Equal(a.Manifest.Blobs.Count(), _bed.B.Blobs.Enumerate().Count());
        Assert.True(_bed.B.Blobs.Verify(TestBed.ModelDigest(a)));
        Assert.DoesNotContain(TestBed.Files(_bed.B), f => f.Contains("partial", StringComparison.Ordinal) || f.Contains(".tmp", StringComparison.Ordinal));
        Assert.Equal(1, both.Count(r => r.Downloaded > 1_000_000)); // the weights came down once
    }

    [Fact]
    public async Task Oversized_or_malformed_registry_answers_end_the_pull_cleanly()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using FakeRegistry fake = await TestBed.FakeFor(_bed.A, a);
        string name = $"{fake.Host}/library/stories";

        fake.Manifest = new byte[5 << 20];
        Assert.Contains("at most", (await Assert.ThrowsAsync<HubException>(() => new ModelPuller(_bed.B, TestBed.Fast).PullAsync(name))).Message);

        fake.Manifest = System.Text.Encoding.UTF8.GetBytes(new string('[', 100) + new string(']', 100));
        Assert.Contains("not valid", (await Assert.ThrowsAsync<HubException>(() => new ModelPuller(_bed.B, TestBed.Fast).PullAsync(name))).Message);

        // a manifest that names a blob with a traversal digest never parses
        string evil = System.Text.Encoding.UTF8.GetString(a.Bytes).Replace(TestBed.ModelDigest(a).ToString(), "sha256:../../../../etc/passwd", StringComparison.Ordinal);
        fake.Manifest = System.Text.Encoding.UTF8.GetBytes(evil);
        Assert.Contains("digest", (await Assert.ThrowsAsync<HubException>(() => new ModelPuller(_bed.B, TestBed.Fast).PullAsync(name))).Message);

        // a manifest that says the weights are shorter than they are: the server's Content-Length disagrees
        string shorter = System.Text.Encoding.UTF8.GetString(a.Bytes).Replace($"\"size\":{new FileInfo(_bed.A.Blobs.PathOf(TestBed.ModelDigest(a))).Length}", "\"size\":1000", StringComparison.Ordinal);
        fake.Manifest = System.Text.Encoding.UTF8.GetBytes(shorter);
        Assert.Contains("Content-Length", (await Assert.ThrowsAsync<HubException>(() => new ModelPuller(_bed.B, TestBed.Fast).PullAsync(name))).Message);

        Assert.Empty(_bed.B.List());
        Assert.DoesNotContain(TestBed.Files(_bed.B), f => f.StartsWith("manifests", StringComparison.Ordinal));
    }
}
