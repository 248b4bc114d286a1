using System.Net;
using System.Net.Http.Headers;

using Cria.Hub.Store;

using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cria.HubServer.Tests;

/// <summary>
/// Every route the hub maps (read from ASP.NET Core's endpoint data sources at run time, so a route
/// added later without an entry here fails the suite), called on a hub that needs tokens for reads
/// and pushes: with no token, a wrong token, a malformed header and (for writes) a pull-only token
/// each is refused with 401 before it touches the store; with the right token it is not; and on a
/// hub started without push tokens every write is 403 whatever token it carries.
/// </summary>
public sealed class HubRouteAccessTests(HubRouteAccessFixture fixture) : IClassFixture<HubRouteAccessFixture>
{
    internal const string PullToken = "pull-token-abcdefghij";

    /// <summary>Each route as a concrete request on the stored model "stories" (true: it writes).</summary>
    private static readonly Dictionary<string, (string Path, bool Write)> s_routes = new()
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
        foreach (string route in s_routes.Keys)
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
        Assert.Empty(mapped.Except(s_routes.Keys)); // a new route must say here how it is authorized
        Assert.Empty(s_routes.Keys.Except(mapped));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Without_the_right_token_every_route_is_refused(string route)
    {
        (string method, string path, bool write) = Resolve(route);
        string before = Snapshot(fixture.Store);
        var refused = new List<string?> { null, "Bearer wrong-token-0000000000", "Basic " + Convert.ToBase64String("user:pw"u8), "Bearer", "Bearer " + new string('x', 5000) };
        if (write)
        {
            refused.Add("Bearer " + PullToken);
        }
        foreach (string? authorization in refused)
        {
            using HttpResponseMessage response = await fixture.SendAsync(fixture.Guarded, method, path, authorization);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{route} with {authorization?[..Math.Min(authorization.Length, 20)] ?? "no token"} answered {(int)response.StatusCode}");
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
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

    private (string Method, string Path, bool Write) Resolve(string route)
    {
        int space = route.IndexOf(' ', StringComparison.Ordinal);
        (string path, bool write) = s_routes[route];
        return (route[..space], path.Replace("{model-digest}", fixture.ModelDigest, StringComparison.Ordinal), write);
    }

    /// <summary>Every file under the store with its length: what a refused request must leave as it was.</summary>
    private static string Snapshot(ModelStore store) => string.Join('\n',
        Directory.EnumerateFiles(store.Home, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal))
            .Select(f => $"{Path.GetRelativePath(store.Home, f)} {new FileInfo(f).Length}")
            .Order(StringComparer.Ordinal));
}

/// <summary>Two hubs over one store holding "stories": one needing pull and push tokens, one read-only and open.</summary>
public sealed class HubRouteAccessFixture : IAsyncLifetime
{
    private readonly TestBed _bed = new();
    private RunningHub _guarded = null!;
    private RunningHub _readOnly = null!;

    public ModelStore Store => _bed.A;

    public string ModelDigest { get; private set; } = "";

    internal IServiceProvider Guarded => _guarded.Services;

    internal IServiceProvider ReadOnly => _readOnly.Services;

    public async Task InitializeAsync()
    {
        ModelDigest = TestBed.ModelDigest(_bed.CreateStories(_bed.A)).ToString();
        _guarded = await RunningHub.StartAsync(_bed.A, [TestBed.PushToken], [HubRouteAccessTests.PullToken]);
        _readOnly = await RunningHub.StartAsync(_bed.A);
    }

    internal Task<HttpResponseMessage> SendAsync(IServiceProvider hub, string method, string path, string? authorization)
    {
        RunningHub target = ReferenceEquals(hub, _guarded.Services) ? _guarded : _readOnly;
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
        _bed.Dispose();
    }
}
