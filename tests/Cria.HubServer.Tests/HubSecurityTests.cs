using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

using Cria.Hub;
using Cria.Hub.Manifests;
using Cria.Hub.Remote;
using Cria.Hub.Store;

namespace Cria.HubServer.Tests;

/// <summary>The hub under hostile requests: traversal in every route, pushes without or with wrong tokens, bad blobs and manifests; and Range/HEAD behaviour.</summary>
public sealed class HubSecurityTests : IDisposable
{
    private const string Secret = "TOP-SECRET-FILE-CONTENT";
    private readonly TestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    /// <summary>A request whose path is sent exactly as written (no client-side dot-segment removal).</summary>
    private static HttpRequestMessage Raw(HttpMethod method, RunningHub hub, string path) =>
        new(method, new Uri(hub.BaseAddress.GetLeftPart(UriPartial.Authority) + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));

    [Fact]
    public async Task Traversal_attempts_on_every_route_are_400_or_404_and_never_reach_a_file()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        File.WriteAllText(Path.Combine(_bed.Root, "secret.txt"), Secret);
        File.WriteAllText(Path.Combine(_bed.A.ModelsDirectory, "secret.txt"), Secret);
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A, [TestBed.PushToken]);
        string digest = TestBed.ModelDigest(a).ToString();
        string[] evil =
        [
            "..", "%2e%2e", "%2E%2E", "..%2f..%2fsecret.txt", "..%5c..%5csecret.txt", "..\\..\\secret.txt", "%2fetc%2fpasswd",
            "....//....//secret.txt", "secret.txt", "%00", "a%00b", "sha256:..%2f..%2fsecret.txt", "sha256-" + new string('a', 64),
            "/etc/passwd", "C:%5cWindows", "~root", "%252e%252e",
        ];
        var paths = new List<string>();
        foreach (string e in evil)
        {
            paths.AddRange(
            [
                $"/v2/{e}/stories/manifests/latest", $"/v2/library/{e}/manifests/latest", $"/v2/library/stories/manifests/{e}",
                $"/v2/{e}/stories/blobs/{digest}", $"/v2/library/{e}/blobs/{digest}", $"/v2/library/stories/blobs/{e}",
                $"/api/models/{e}/stories", $"/api/models/library/{e}", $"/api/models/library/stories/revision/{e}",
                $"/api/models/library/stories/tree/{e}", $"/api/models/library/stories/tree/main/{e}",
                $"/{e}/stories/resolve/main/README.md", $"/library/{e}/resolve/main/README.md", $"/library/stories/resolve/{e}/README.md",
                $"/library/stories/resolve/main/{e}", $"/library/stories/resolve/main/{e}/secret.txt", $"/library/stories/resolve/main/../../secret.txt",
                $"/{e}", $"/v2/{e}", $"/blobs/{e}", $"/models/{e}",
            ]);
        }
        foreach (string path in paths)
        {
            foreach (HttpMethod method in new[] { HttpMethod.Get, HttpMethod.Head })
            {
                using HttpResponseMessage r = await hub.Http.SendAsync(Raw(method, hub, path));
                string body = await r.Content.ReadAsStringAsync();
                // Kestrel removes dot segments before routing ("/a/b/revision/.." is "/a/b"), so such a path may
                // land on a real resource of the store: that is fine, as long as nothing outside it is reached.
                bool dotSegment = path.Contains("/../", StringComparison.Ordinal) || path.EndsWith("/..", StringComparison.Ordinal)
                    || path.Contains("/%2e%2e", StringComparison.OrdinalIgnoreCase);
                Assert.True(r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound || (dotSegment && r.IsSuccessStatusCode),
                    $"{method} {path}: {(int)r.StatusCode} {body}");
                Assert.DoesNotContain(Secret, body);
            }
        }
        // the write routes, with a valid token ("secret.txt" and "sha256-aaa…" are valid model names, so not attacks there)
        foreach (string e in evil.Where(e => e != "secret.txt" && !e.StartsWith("sha256-", StringComparison.Ordinal)))
        {
            foreach (string path in new[] { $"/v2/{e}/x/blobs/uploads/", $"/v2/library/{e}/blobs/uploads/", $"/v2/library/x/manifests/{e}", $"/v2/{e}/x/manifests/latest", $"/v2/library/x/blobs/uploads/?digest={e}" })
            {
                using HttpRequestMessage req = Raw(path.Contains("manifests", StringComparison.Ordinal) ? HttpMethod.Put : HttpMethod.Post, hub, path);
                req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestBed.PushToken);
                req.Content = new ByteArrayContent(a.Bytes);
                using HttpResponseMessage r = await hub.Http.SendAsync(req);
                Assert.True(r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{req.Method} {path}: {(int)r.StatusCode}");
            }
        }
        Assert.Equal(["stories:latest"], _bed.A.List().Select(m => m.Name.DisplayShortest()));
        Assert.False(File.Exists(Path.Combine(_bed.Root, "x")));
    }

    [Fact]
    public async Task Errors_are_json_and_unknown_things_are_404()
    {
        _bed.CreateStories(_bed.A);
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A);
        foreach (string path in new[] { "/v2/library/nothing/manifests/latest", "/api/models/library/nothing", "/library/stories/resolve/main/nothing.gguf", "/no/such/route/here.txt", "/v2/library/stories/blobs/sha256:" + new string('0', 64) })
        {
            using HttpResponseMessage r = await hub.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            using JsonDocument doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            Assert.True(doc.RootElement.TryGetProperty("error", out _), path);
            Assert.True(doc.RootElement.TryGetProperty("errors", out _), path);
        }
        using HttpResponseMessage wrongRevision = await hub.Http.GetAsync("/library/stories/resolve/0123456789abcdef0123456789abcdef01234567/README.md");
        Assert.Equal("RevisionNotFound", wrongRevision.Headers.GetValues("X-Error-Code").Single());
    }

    [Fact]
    public async Task Blobs_and_files_honour_range_head_and_etag()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A);
        Digest d = TestBed.ModelDigest(a);
        byte[] weights = File.ReadAllBytes(_bed.A.Blobs.PathOf(d));

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/v2/library/stories/blobs/{d}");
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        using HttpResponseMessage part = await hub.Http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal($"bytes 100-199/{weights.Length}", part.Content.Headers.ContentRange!.ToString());
        Assert.Equal(weights[100..200], await part.Content.ReadAsByteArrayAsync());

        using var beyond = new HttpRequestMessage(HttpMethod.Get, "/library/stories/resolve/main/stories-latest.gguf");
        beyond.Headers.Range = new RangeHeaderValue(weights.Length + 10, null);
        using HttpResponseMessage unsatisfiable = await hub.Http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);

        using HttpResponseMessage head = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/library/stories/resolve/main/stories-latest.gguf"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal($"\"{d.Hex}\"", head.Headers.ETag!.Tag);
        Assert.Equal($"\"{d.Hex}\"", head.Headers.GetValues("X-Linked-Etag").Single());
        Assert.Equal(weights.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Headers.GetValues("X-Linked-Size").Single());
        Assert.Matches("^[0-9a-f]{40}$", head.Headers.GetValues("X-Repo-Commit").Single());
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        using HttpResponseMessage manifest = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/library/stories/manifests/latest"));
        Assert.Equal(a.Digest.ToString(), manifest.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(MediaTypes.Manifest, manifest.Content.Headers.ContentType!.MediaType);
        using HttpResponseMessage byDigest = await hub.Http.GetAsync($"/v2/library/stories/manifests/{a.Digest}");
        Assert.Equal(a.Bytes, await byDigest.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_hub_refuses_a_pushed_derivative_whose_name_breaks_its_licence()
    {
        // A Llama 3.1 derivative (an adapter on top), pushed under a compliant name, then its manifest
        // put again under a name without the "Llama" prefix by a client that does not check.
        string modelfile = Path.Combine(_bed.Root, "Modelfile.base");
        File.WriteAllText(modelfile, $"FROM {TestBed.BundledModel}\nLICENSE llama3.1\n");
        _bed.A.Create(ModelName.Parse("base31"), Cria.Hub.Modelfiles.Modelfile.Load(modelfile), _bed.Root);
        var w = new Cria.Core.Gguf.GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.type", "adapter");
        w.Add("adapter.type", "lora");
        w.Add("adapter.lora.alpha", 16f);
        w.AddTensor("blk.0.attn_q.weight.lora_a", Cria.Numerics.GgmlType.F32, [64, 2], new byte[64 * 2 * 4]);
        w.AddTensor("blk.0.attn_q.weight.lora_b", Cria.Numerics.GgmlType.F32, [2, 64], new byte[2 * 64 * 4]);
        string adapter = Path.Combine(_bed.Root, "a.gguf");
        w.Save(adapter);
        string derived = Path.Combine(_bed.Root, "Modelfile.derived");
        File.WriteAllText(derived, $"FROM base31\nADAPTER {adapter}\n");
        StoredManifest d = _bed.A.Create(ModelName.Parse("team/llama-pirate:v1"), Cria.Hub.Modelfiles.Modelfile.Load(derived), _bed.Root);

        ModelStore hubStore = _bed.Store("hub");
        await using RunningHub hub = await RunningHub.StartAsync(hubStore, [TestBed.PushToken]);
        var pusher = new ModelPusher(_bed.A, TestBed.Fast with { RegistryToken = TestBed.PushToken });
        await pusher.PushAsync(d.Name, ModelName.Parse($"{hub.Host}/team/llama-pirate:v1"));
        HubException refused = await Assert.ThrowsAsync<HubException>(() => pusher.PushAsync(d.Name, ModelName.Parse($"{hub.Host}/team/pirate:v1")));
        Assert.Contains("begin with \"Llama\"", refused.Message, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = hub.BaseAddress };
        using var put = new HttpRequestMessage(HttpMethod.Put, "v2/team/pirate/manifests/v1") { Content = new ByteArrayContent(d.Bytes) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(d.Manifest.MediaType);
        put.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestBed.PushToken);
        using HttpResponseMessage response = await http.SendAsync(put);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("DENIED", body, StringComparison.Ordinal);
        Assert.Equal(["team/llama-pirate:v1"], hubStore.List().Select(m => m.Name.DisplayShortest()));
    }

    [Fact]
    public async Task Push_needs_the_token_and_then_pulls_into_another_store()
    {
        StoredManifest a = _bed.CreateStories(_bed.A, "team/stories:v1");
        ModelStore hubStore = _bed.Store("hub");
        await using RunningHub hub = await RunningHub.StartAsync(hubStore, [TestBed.PushToken]);
        ModelName remote = ModelName.Parse($"{hub.Host}/team/stories:v1");

        RemoteStatusException none = await Assert.ThrowsAsync<RemoteStatusException>(() => new ModelPusher(_bed.A, TestBed.Fast).PushAsync(a.Name, remote));
        Assert.Equal(401, none.Status);
        RemoteStatusException wrong = await Assert.ThrowsAsync<RemoteStatusException>(() => new ModelPusher(_bed.A, TestBed.Fast with { RegistryToken = "not-the-token-at-all" }).PushAsync(a.Name, remote));
        Assert.Equal(401, wrong.Status);
        Assert.Empty(hubStore.List());
        Assert.Empty(TestBed.Files(hubStore));

        long sent = await new ModelPusher(_bed.A, TestBed.Fast with { RegistryToken = TestBed.PushToken }).PushAsync(a.Name, remote);
        Assert.True(sent > 1_000_000);
        StoredManifest onHub = Assert.Single(hubStore.List().Select(m => hubStore.Get(m.Name)));
        Assert.Equal(a.Digest, onHub.Digest);
        Assert.Equal("team/stories:v1", onHub.Name.DisplayShortest());
        // pushed again: every blob is already there
        Assert.Equal(0, await new ModelPusher(_bed.A, TestBed.Fast with { RegistryToken = TestBed.PushToken }).PushAsync(a.Name, remote));

        PullResult pulled = await new ModelPuller(_bed.B, TestBed.Fast).PullAsync(remote.ToString());
        Assert.Equal(a.Digest, pulled.Stored.Digest);
        PullResult hf = await new ModelPuller(_bed.Store("C"), TestBed.Fast with { HuggingFaceEndpoint = hub.BaseAddress.ToString() }).PullAsync("hf.co/team/stories:v1");
        Assert.Equal(TestBed.ModelDigest(a), TestBed.ModelDigest(hf.Stored));
    }

    [Fact]
    public async Task A_read_only_hub_refuses_writes_and_pull_tokens_guard_reads()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using (RunningHub readOnly = await RunningHub.StartAsync(_bed.A))
        {
            using var post = new HttpRequestMessage(HttpMethod.Post, "/v2/library/x/blobs/uploads/");
            post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestBed.PushToken);
            using HttpResponseMessage r = await readOnly.Http.SendAsync(post);
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        }
        const string pullToken = "pull-token-abcdefghijk";
        await using RunningHub guarded = await RunningHub.StartAsync(_bed.A, [TestBed.PushToken], [pullToken]);
        Assert.Equal(401, (await Assert.ThrowsAsync<RemoteStatusException>(() => new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{guarded.Host}/library/stories"))).Status);
        Assert.Equal(a.Digest, (await new ModelPuller(_bed.B, TestBed.Fast with { RegistryToken = pullToken }).PullAsync($"{guarded.Host}/library/stories")).Stored.Digest);
        using var pushWithPullToken = new HttpRequestMessage(HttpMethod.Post, "/v2/library/x/blobs/uploads/");
        pushWithPullToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pullToken);
        Assert.Equal(HttpStatusCode.Forbidden, (await guarded.Http.SendAsync(pushWithPullToken)).StatusCode);
    }

    [Fact]
    public async Task Pushed_blobs_and_manifests_are_verified_before_they_are_visible()
    {
        ModelStore hubStore = _bed.Store("hub");
        await using RunningHub hub = await RunningHub.StartAsync(hubStore, [TestBed.PushToken]);
        hub.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestBed.PushToken);
        byte[] notGguf = Encoding.UTF8.GetBytes("this is not a GGUF file at all");
        Digest good = Digest.Of(notGguf);

        // wrong digest: 400, nothing stored
        using HttpResponseMessage bad = await hub.Http.PostAsync($"/v2/library/x/blobs/uploads/?digest=sha256:{new string('a', 64)}", new ByteArrayContent(notGguf));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("DIGEST_INVALID", await bad.Content.ReadAsStringAsync());
        Assert.Empty(hubStore.Blobs.Enumerate());

        // an upload session, then a PUT with the right digest: stored
        using HttpResponseMessage start = await hub.Http.PostAsync("/v2/library/x/blobs/uploads/", new ByteArrayContent([]));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        using HttpResponseMessage put = await hub.Http.PutAsync($"{start.Headers.Location}?digest={good}", new ByteArrayContent(notGguf));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.True(hubStore.Blobs.Exists(good));
        // the session is used up
        using HttpResponseMessage reuse = await hub.Http.PutAsync($"{start.Headers.Location}?digest={good}", new ByteArrayContent(notGguf));
        Assert.Equal(HttpStatusCode.NotFound, reuse.StatusCode);

        // a manifest whose model layer is not GGUF: 400, no model
        byte[] config = Encoding.UTF8.GetBytes("{}");
        await hub.Http.PostAsync($"/v2/library/x/blobs/uploads/?digest={Digest.Of(config)}", new ByteArrayContent(config));
        var manifest = new Manifest
        {
            Config = new ManifestLayer { MediaType = MediaTypes.Config, Digest = Digest.Of(config), Size = config.Length },
            Layers = [new ManifestLayer { MediaType = MediaTypes.Model, Digest = good, Size = notGguf.Length }],
        };
        using HttpResponseMessage m = await hub.Http.PutAsync("/v2/library/x/manifests/latest", new ByteArrayContent(manifest.ToJson()));
        Assert.Equal(HttpStatusCode.BadRequest, m.StatusCode);
        string body = await m.Content.ReadAsStringAsync();
        Assert.Contains("MANIFEST_INVALID", body);
        Assert.DoesNotContain(hubStore.ModelsDirectory, body);
        // a manifest naming a blob the hub does not have
        var missing = manifest with { Layers = [new ManifestLayer { MediaType = MediaTypes.Model, Digest = Digest.Of([1, 2, 3]), Size = 3 }] };
        using HttpResponseMessage m2 = await hub.Http.PutAsync("/v2/library/x/manifests/latest", new ByteArrayContent(missing.ToJson()));
        Assert.Contains("MANIFEST_BLOB_UNKNOWN", await m2.Content.ReadAsStringAsync());
        // an oversized manifest body
        using HttpResponseMessage big = await hub.Http.PutAsync("/v2/library/x/manifests/latest", new ByteArrayContent(new byte[Manifest.MaxBytes + 1]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Empty(hubStore.List());
    }

    [Fact]
    public async Task A_pushed_blob_that_no_manifest_names_is_collected_and_a_named_one_stays()
    {
        ModelStore hubStore = _bed.Store("hub");
        await using RunningHub hub = await RunningHub.StartAsync(hubStore, [TestBed.PushToken],
            configure: o => o with { OrphanBlobAge = TimeSpan.FromSeconds(1), GarbageCollectionInterval = TimeSpan.FromMilliseconds(200) });
        hub.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestBed.PushToken);
        byte[] orphan = Encoding.UTF8.GetBytes("a blob a push abandoned");
        using HttpResponseMessage put = await hub.Http.PostAsync($"/v2/library/x/blobs/uploads/?digest={Digest.Of(orphan)}", new ByteArrayContent(orphan));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.True(hubStore.Blobs.Exists(Digest.Of(orphan)));

        // A whole model pushed through the registry protocol: its blobs are named by its manifest.
        StoredManifest a = _bed.CreateStories(_bed.A, "team/stories:v1");
        await new ModelPusher(_bed.A, TestBed.Fast with { RegistryToken = TestBed.PushToken }).PushAsync(a.Name, ModelName.Parse($"{hub.Host}/team/stories:v1"));
        Digest[] named = [.. hubStore.Blobs.Enumerate().Where(d => d != Digest.Of(orphan))];
        Assert.NotEmpty(named);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (hubStore.Blobs.Exists(Digest.Of(orphan)) && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }
        Assert.False(hubStore.Blobs.Exists(Digest.Of(orphan)), "the orphan blob is still there after 10 s");
        Assert.All(named, d => Assert.True(hubStore.Blobs.Exists(d)));
        Assert.Single(hubStore.List());
    }
}
