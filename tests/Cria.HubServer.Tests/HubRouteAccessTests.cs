using System.Net;
using System.Net.Http.Headers;

using Cria.Hub.Store;

using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cria.HubServer.Tests;

/// <summary>
/// Every route the hub maps (read from ASP.NET Core's endpoint data sources at run time, so a route
/// added later without an entry here fails the suite), called on a hub that needs tokens for reads
/// and pushes: with no token, a wrong token or a malformed header each is refused with 401 (and a write
/// with a pull-only token with 403) before it touches the store; with the right token it is not; on a
/// hub started without push tokens every write is 403 whatever token it carries; and on a hub shared by
/// tenants, one tenant's token can neither read another's private repository nor write to it.
/// </summary>
public sealed class HubRouteAccessTests(HubRouteAccessFixture fixture) : IClassFixture<HubRouteAccessFixture>
{
    internal const string PullToken = "pull-token-abcdefghij";

    /// <summary>Each route as a concrete request on the stored model "stories" (true: it writes).</summary>
    internal static readonly Dictionary<string, (string Path, bool Write)> RouteTable = new()
    {
        ["GET /"] = ("/", false),
        ["HEAD /"] = ("/", false),
        ["GET /v2/"] = ("/v2/", false),
        ["HEAD /v2/"] = ("/v2/", false),
        ["GET /v2/{ns}/{model}/manifests/{reference}"] = ("/v2/library/stories/manifests/latest", false),
        ["HEAD /v2/{ns}/{model}/manifests/{reference}"] = ("/v2/library/stories/manifests/latest", false),
        ["GET /v2/{ns}/{model}/blobs/{digest}"] = ("/v2/library/stories/blobs/{model-digest}", false),
        ["HEAD /v2/{ns}/{model}/blobs/{digest}"] = ("/v2/library/stories/blobs/{model-digest}", false),
        ["GET /api/models/{owner}/{repo}"] = ("/api/models/library/stories", false),
        ["HEAD /api/models/{owner}/{repo}"] = ("/api/models/library/stories", false),
        ["GET /api/models/{owner}/{repo}/revision/{rev}"] = ("/api/models/library/stories/revision/main", false),
        ["HEAD /api/models/{owner}/{repo}/revision/{rev}"] = ("/api/models/library/stories/revision/main", false),
        ["GET /api/models/{owner}/{repo}/tree/{rev}/{**path}"] = ("/api/models/library/stories/tree/main", false),
        ["HEAD /api/models/{owner}/{repo}/tree/{rev}/{**path}"] = ("/api/models/library/stories/tree/main", false),
        ["GET /{owner}/{repo}/resolve/{rev}/{**file}"] = ("/library/stories/resolve/main/README.md", false),
        ["HEAD /{owner}/{repo}/resolve/{rev}/{**file}"] = ("/library/stories/resolve/main/README.md", false),
        ["POST /v2/{ns}/{model}/blobs/uploads/"] = ("/v2/library/other/blobs/uploads/", true),
        ["PUT /v2/{ns}/{model}/blobs/uploads/{id}"] = ("/v2/library/other/blobs/uploads/0123456789abcdef?digest=sha256:" + new string('0', 64), true),
        ["PATCH /v2/{ns}/{model}/blobs/uploads/{id}"] = ("/v2/library/other/blobs/uploads/0123456789abcdef", true),
        ["PUT /v2/{ns}/{model}/manifests/{reference}"] = ("/v2/library/other/manifests/latest", true),
    };

    public static TheoryData<string> Routes()
    {
        var data = new TheoryData<string>();
        foreach (string route in RouteTable.Keys)
        {
            data.Add(route);
        }
        return data;
    }

    [Fact]
    public void Every_mapped_route_is_in_the_table()
    {
        var mapped = new HashSet<string>(StringComparer.Ordinal);
        foreach (EndpointDataSource source in fixture.Guarded.GetServices<EndpointDataSource>())
        {
            foreach (RouteEndpoint endpoint in source.Endpoints.OfType<RouteEndpoint>())
            {
                string pattern = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
                foreach (string method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                {
                    mapped.Add($"{method} {pattern}");
                }
            }
        }
        Assert.Empty(mapped.Except(RouteTable.Keys)); // a new route must say here how it is authorized
        Assert.Empty(RouteTable.Keys.Except(mapped));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Without_the_right_token_every_route_is_refused(string route)
    {
        (string method, string path, bool write) = Resolve(route);
        string before = Snapshot(fixture.Store);
        var refused = new List<string?> { null, "Bearer wrong-token-0000000000", "Basic " + Convert.ToBase64String("user:pw"u8), "Bearer", "Bearer " + new string('x', 5000) };
        foreach (string? authorization in refused)
        {
            using HttpResponseMessage response = await fixture.SendAsync(fixture.Guarded, method, path, authorization);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{route} with {authorization?[..Math.Min(authorization.Length, 20)] ?? "no token"} answered {(int)response.StatusCode}");
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
        if (write)
        {
            // a token the hub knows, without push rights: refused as forbidden, not as unknown
            using HttpResponseMessage response = await fixture.SendAsync(fixture.Guarded, method, path, "Bearer " + PullToken);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{route} with the pull token answered {(int)response.StatusCode}");
        }
        Assert.Equal(before, Snapshot(fixture.Store));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task With_the_right_token_a_route_is_not_refused(string route)
    {
        (string method, string path, bool write) = Resolve(route);
        foreach (string token in write ? [TestBed.PushToken] : new[] { PullToken, TestBed.PushToken })
        {
            using HttpResponseMessage response = await fixture.SendAsync(fixture.Guarded, method, path, "Bearer " + token);
            Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{route} answered {(int)response.StatusCode}");
            if (!write)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_read_only_hub_refuses_every_write_and_serves_every_read(string route)
    {
        (string method, string path, bool write) = Resolve(route);
        foreach (string? authorization in new[] { null, "Bearer " + TestBed.PushToken })
        {
            using HttpResponseMessage response = await fixture.SendAsync(fixture.ReadOnly, method, path, authorization);
            Assert.Equal(write ? HttpStatusCode.Forbidden : HttpStatusCode.OK, response.StatusCode);
        }
    }

    /// <summary>
    /// A hub shared by tenants: Alice's token pushes to alice/ only, Bob's to bob/ only, an auditor's pulls bob/, and bob/
    /// is private. On every route that names a repository, Alice's token on Bob's private repository is refused — a read
    /// is 404 as for a repository that does not exist, a write 403 — and neither touches the store; the auditor may read
    /// it and not write; no token is 401; Bob's own token is not refused.
    /// </summary>
    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Another_tenants_private_repository_is_refused_on_every_route(string route)
    {
        (string method, string path, bool write) = Resolve(route);
        if (!path.Contains("/library/", StringComparison.Ordinal))
        {
            // a route of no repository: open, since not every namespace is private
            using HttpResponseMessage open = await fixture.SendAsync(fixture.Tenants, method, path, "Bearer " + HubRouteAccessFixture.AliceToken);
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
            return;
        }
        path = path.Replace("/library/", "/bob/", StringComparison.Ordinal);
        string before = Snapshot(fixture.Store);
        var expected = new List<(string? Authorization, HttpStatusCode Status)>
        {
            (null, HttpStatusCode.Unauthorized),
            ("Bearer wrong-token-0000000000", HttpStatusCode.Unauthorized),
            ("Bearer " + HubRouteAccessFixture.AliceToken, write ? HttpStatusCode.Forbidden : HttpStatusCode.NotFound),
        };
        if (write)
        {
            expected.Add(("Bearer " + HubRouteAccessFixture.AuditorToken, HttpStatusCode.Forbidden));
        }
        foreach ((string? authorization, HttpStatusCode status) in expected)
        {
            using HttpResponseMessage response = await fixture.SendAsync(fixture.Tenants, method, path, authorization);
            Assert.True(response.StatusCode == status, $"{route} on bob/ with {authorization?[..Math.Min(authorization.Length, 14)] ?? "no token"} answered {(int)response.StatusCode}, not {(int)status}");
        }
        Assert.Equal(before, Snapshot(fixture.Store));
        foreach (string token in write ? [HubRouteAccessFixture.BobToken] : new[] { HubRouteAccessFixture.BobToken, HubRouteAccessFixture.AuditorToken })
        {
            using HttpResponseMessage response = await fixture.SendAsync(fixture.Tenants, method, path, "Bearer " + token);
            Assert.True(write ? response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) : response.StatusCode == HttpStatusCode.OK,
                $"{route} on bob/ with Bob's grant answered {(int)response.StatusCode}");
        }
    }

    /// <summary>On the same hub a public namespace reads without a token, and a tenant may not push into it (nor into the other's).</summary>
    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_tenant_writes_only_its_own_namespace_and_public_ones_read_openly(string route)
    {
        (string method, string path, bool write) = Resolve(route);
        if (!write)
        {
            using HttpResponseMessage open = await fixture.SendAsync(fixture.Tenants, method, path, null);
            Assert.Equal(HttpStatusCode.OK, open.StatusCode); // library/ is not private
            return;
        }
        using (HttpResponseMessage intoLibrary = await fixture.SendAsync(fixture.Tenants, method, path, "Bearer " + HubRouteAccessFixture.AliceToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, intoLibrary.StatusCode);
        }
        using HttpResponseMessage own = await fixture.SendAsync(fixture.Tenants, method, path.Replace("/library/", "/alice/", StringComparison.Ordinal), "Bearer " + HubRouteAccessFixture.AliceToken);
        Assert.True(own.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{route} into alice/ with Alice's token answered {(int)own.StatusCode}");
    }

    private (string Method, string Path, bool Write) Resolve(string route)
    {
        int space = route.IndexOf(' ', StringComparison.Ordinal);
        (string path, bool write) = RouteTable[route];
        return (route[..space], path.Replace("{model-digest}", fixture.ModelDigest, StringComparison.Ordinal), write);
    }

    /// <summary>Every file under the store with its length: what a refused request must leave as it was.</summary>
    private static string Snapshot(ModelStore store) => string.Join('\n',
        Directory.EnumerateFiles(store.Home, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal))
            .Select(f => $"{Path.GetRelativePath(store.Home, f)} {new FileInfo(f).Length}")
            .Order(StringComparer.Ordinal));
}

/// <summary>
/// Three hubs over one store holding "stories" (also as alice/stories and bob/stories): one needing pull and push
/// tokens, one read-only and open, and one shared by tenants with per-namespace grants and bob/ private.
/// </summary>
public sealed class HubRouteAccessFixture : IAsyncLifetime
{
    internal const string AliceToken = "alice-token-0123456789";
    internal const string BobToken = "bob-token-0123456789ab";
    internal const string AuditorToken = "auditor-token-01234567";

    private readonly TestBed _bed = new();
    private RunningHub _guarded = null!;
    private RunningHub _readOnly = null!;
    private RunningHub _tenants = null!;

    public ModelStore Store => _bed.A;

    public string ModelDigest { get; private set; } = "";

    internal IServiceProvider Guarded => _guarded.Services;

    internal IServiceProvider ReadOnly => _readOnly.Services;

    internal IServiceProvider Tenants => _tenants.Services;

    public async Task InitializeAsync()
    {
        ModelDigest = TestBed.ModelDigest(_bed.CreateStories(_bed.A)).ToString();
        _guarded = await RunningHub.StartAsync(_bed.A, [TestBed.PushToken], [HubRouteAccessTests.PullToken]);
        _readOnly = await RunningHub.StartAsync(_bed.A);
        _bed.A.Copy("stories", "alice/stories");
        _bed.A.Copy("stories", "bob/stories");
        _tenants = await RunningHub.StartAsync(_bed.A, configure: o => o with
        {
            Grants =
            [
                HubTokenGrant.ParseLine(AliceToken + " push:alice", "test:1"),
                HubTokenGrant.ParseLine(BobToken + " push:bob", "test:2"),
                HubTokenGrant.ParseLine(AuditorToken + " pull:bob", "test:3"),
            ],
            PrivateNamespaces = ["bob"],
        });
    }

    internal Task<HttpResponseMessage> SendAsync(IServiceProvider hub, string method, string path, string? authorization)
    {
        RunningHub target = ReferenceEquals(hub, _guarded.Services) ? _guarded : ReferenceEquals(hub, _tenants.Services) ? _tenants : _readOnly;
        var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        if (method is "PUT" or "POST" or "PATCH")
        {
            request.Content = new ByteArrayContent([]);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }
        return target.Http.SendAsync(request);
    }

    public async Task DisposeAsync()
    {
        await _guarded.DisposeAsync();
        await _readOnly.DisposeAsync();
        await _tenants.DisposeAsync();
        _bed.Dispose();
    }
}
