using System.Net;
using System.Net.Http.Headers;
using System.Text;

using Cria.Server.Auth;

namespace Cria.Server.Tests;

/// <summary>
/// Every route the server maps (read from ASP.NET Core's endpoint data sources at run time, so a
/// route added later without an entry here fails the suite) called with no key, a wrong key, a key
/// limited to the other model and a key for the model: only <c>/health</c> answers without a key; a
/// key limited to "alpha" can neither use "beta" (403) nor read anything about it (404, and its name
/// appears in no listing), while the same request for "alpha" succeeds.
/// </summary>
public sealed class RouteAccessTests(RouteAccessFixture fixture) : IClassFixture<RouteAccessFixture>
{
    /// <summary>How each route is called for a model; null for routes that name no model.</summary>
    private static readonly Dictionary<string, Func<string, (string Path, string? Body)>?> s_routes = new()
    {
        ["GET /"] = null,
        ["GET /health"] = null,
        ["GET /metrics"] = null,
        ["GET /api/version"] = null,
        ["GET /v1/models"] = null,
        ["GET /api/tags"] = null,
        ["GET /api/ps"] = null,
        ["GET /v1/models/{id}"] = m => ($"v1/models/{m}", null),
        ["POST /v1/chat/completions"] = m => ("v1/chat/completions", $$"""{"model":"{{m}}","messages":[{"role":"user","content":"hi"}],"max_tokens":2}"""),
        ["POST /v1/completions"] = m => ("v1/completions", $$"""{"model":"{{m}}","prompt":"Once","max_tokens":2}"""),
        ["POST /v1/embeddings"] = m => ("v1/embeddings", $$"""{"model":"{{m}}","input":"Once upon a time"}"""),
        ["POST /v1/moderations"] = null,
        ["POST /api/chat"] = m => ("api/chat", $$$"""{"model":"{{{m}}}","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":2}}"""),
        ["POST /api/generate"] = m => ("api/generate", $$$"""{"model":"{{{m}}}","prompt":"Once","stream":false,"options":{"num_predict":2}}"""),
        ["POST /api/embed"] = m => ("api/embed", $$"""{"model":"{{m}}","input":"Once upon a time"}"""),
        ["POST /api/embeddings"] = m => ("api/embeddings", $$"""{"model":"{{m}}","prompt":"Once upon a time"}"""),
        ["POST /api/show"] = m => ("api/show", $$"""{"model":"{{m}}"}"""),
    };

    /// <summary>Bodies for the routes that name no model but take a body.</summary>
    private static readonly Dictionary<string, string> s_modelFreeBodies = new()
    {
        ["POST /v1/moderations"] = """{"input":"Once upon a time"}""",
    };

    private Task<HttpResponseMessage> SendAsync(string method, string path, string? key, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        return fixture.Server.Http.SendAsync(request);
    }

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
        var mapped = fixture.Server.Routes().Select(r => $"{r.Method} {r.Pattern}").ToHashSet();
        Assert.Empty(mapped.Except(s_routes.Keys)); // a new route must say here how it is authorized
        Assert.Empty(s_routes.Keys.Except(mapped));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Without_a_key_or_with_a_wrong_one_only_health_answers(string route)
    {
        (string method, string pattern) = Split(route);
        (string path, string? body) = s_routes[route]?.Invoke("alpha") ?? (pattern.TrimStart('/'), s_modelFreeBodies.GetValueOrDefault(route));
        foreach (string? key in new[] { null, "cria-0000000000000000", "not-even-a-cria-key" })
        {
            using HttpResponseMessage response = await SendAsync(method, path, key, body);
            if (pattern == "/health")
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                continue;
            }
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_key_limited_to_alpha_cannot_use_or_read_about_beta(string route)
    {
        (string method, string pattern) = Split(route);
        if (s_routes[route] is not { } call)
        {
            // A route that names no model: it answers, and says nothing of the model the key may not use.
            using HttpResponseMessage listing = await SendAsync(method, pattern.TrimStart('/'), fixture.AlphaKey, s_modelFreeBodies.GetValueOrDefault(route));
            Assert.Equal(HttpStatusCode.OK, listing.StatusCode);
            string text = await listing.Content.ReadAsStringAsync();
            Assert.DoesNotContain("beta", text, StringComparison.Ordinal);
            if (pattern is "/v1/models" or "/api/tags")
            {
                Assert.Contains("alpha", text, StringComparison.Ordinal);
            }
            return;
        }
        (string path, string? body) = call("beta");
        using HttpResponseMessage refused = await SendAsync(method, path, fixture.AlphaKey, body);
        Assert.True(refused.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"{route} for beta answered {(int)refused.StatusCode}");
        string refusal = await refused.Content.ReadAsStringAsync();
        Assert.Contains("error", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("llama", refusal, StringComparison.Ordinal); // no details of beta (its architecture) leak

        (path, body) = call("alpha");
        using HttpResponseMessage allowed = await SendAsync(method, path, fixture.AlphaKey, body);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);

        // A key for every model may read and use beta.
        (path, body) = call("beta");
        using HttpResponseMessage open = await SendAsync(method, path, fixture.AnyKey, body);
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
    }

    private static (string Method, string Pattern) Split(string route)
    {
        int space = route.IndexOf(' ', StringComparison.Ordinal);
        return (route[..space], route[(space + 1)..]);
    }
}

/// <summary>A server with keys required and the bundled model under two names, "alpha" and "beta".</summary>
public sealed class RouteAccessFixture : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("cria-routes-").FullName;

    public RunningServer Server { get; private set; } = null!;

    public string AlphaKey { get; private set; } = "";

    public string AnyKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var store = new KeyStore(_home);
        AlphaKey = store.Create("alpha-only", models: ["alpha"]).Secret;
        AnyKey = store.Create("any").Secret;
        string bundled = ServerOptions.BundledModelPath;
        Server = await RunningServer.StartAsync(new ServerOptions
        {
            RequireKey = true,
            DataDirectory = _home,
            ModelPaths = [$"alpha={bundled}", $"beta={bundled}"],
        });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }
}
