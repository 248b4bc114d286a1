using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

using Cria.Server.Auth;

using OpenAI;
using OpenAI.Embeddings;

namespace Cria.Server.Tests;

/// <summary>
/// <c>--require-key</c> with keys made through <see cref="KeyStore"/> in a temporary <c>CRIA_HOME</c>:
/// 401 without or with a bad/revoked key, 403 for a model outside the key's list, 429 with
/// <c>Retry-After</c> over a quota, <c>/health</c> always open; CORS headers only with <c>--cors</c>.
/// </summary>
public sealed class KeysTests(KeysFixture keys, ServerFixture open) : IClassFixture<KeysFixture>, IClassFixture<ServerFixture>
{
    private RunningServer Server => keys.Server;

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, string? json = null, string? origin = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }
        return Server.Http.SendAsync(request);
    }

    private const string EmbedBody = """{"model":"stories260K","input":"Once upon a time"}""";

    [Fact]
    public async Task Missing_or_invalid_key_is_401_in_each_dialect()
    {
        using HttpResponseMessage none = await SendAsync(HttpMethod.Get, "v1/models", null);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        JsonElement error = (await RunningServer.JsonAsync(none)).GetProperty("error");
        Assert.Equal("authentication_error", error.GetProperty("type").GetString());
        Assert.Equal("missing_api_key", error.GetProperty("code").GetString());

        using HttpResponseMessage wrong = await SendAsync(HttpMethod.Get, "v1/models", "cria-0000");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("invalid_api_key", (await RunningServer.JsonAsync(wrong)).GetProperty("error").GetProperty("code").GetString());

        using HttpResponseMessage ollama = await SendAsync(HttpMethod.Get, "api/tags", null);
        Assert.Equal(HttpStatusCode.Unauthorized, ollama.StatusCode);
        Assert.Equal(JsonValueKind.String, (await RunningServer.JsonAsync(ollama)).GetProperty("error").ValueKind);

        using HttpResponseMessage root = await SendAsync(HttpMethod.Get, "", null);
        Assert.Equal(HttpStatusCode.Unauthorized, root.StatusCode);
    }

    [Fact]
    public async Task Health_is_open_without_a_key()
    {
        using HttpResponseMessage health = await SendAsync(HttpMethod.Get, "health", null);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Valid_key_works_with_the_sdk_and_raw_http_until_revoked()
    {
        (_, string secret) = keys.Store.Create("revocable");
        var client = new EmbeddingClient("stories260K", new ApiKeyCredential(secret),
            new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });
        OpenAIEmbedding embedding = (await client.GenerateEmbeddingAsync("a cat")).Value;
        Assert.Equal(64, embedding.ToFloats().Length);

        using HttpResponseMessage tags = await SendAsync(HttpMethod.Get, "api/tags", secret);
        Assert.Equal(HttpStatusCode.OK, tags.StatusCode);

        Assert.True(keys.Store.Revoke("revocable"));
        Assert.False(keys.Store.Revoke("revocable"));
        using HttpResponseMessage revoked = await SendAsync(HttpMethod.Get, "v1/models", secret);
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateEmbeddingAsync("a cat"));
        Assert.Equal(401, e.Status);
    }

    [Fact]
    public async Task Key_limited_to_other_models_gets_403()
    {
        (_, string secret) = keys.Store.Create("other-models", models: ["llama-3", "qwen"]);
        using HttpResponseMessage chat = await SendAsync(HttpMethod.Post, "v1/chat/completions", secret,
            """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":2}""");
        Assert.Equal(HttpStatusCode.Forbidden, chat.StatusCode);
        JsonElement error = (await RunningServer.JsonAsync(chat)).GetProperty("error");
        Assert.Equal("model_not_allowed", error.GetProperty("code").GetString());

        using HttpResponseMessage embed = await SendAsync(HttpMethod.Post, "api/embed", secret, EmbedBody);
        Assert.Equal(HttpStatusCode.Forbidden, embed.StatusCode);
        using HttpResponseMessage generate = await SendAsync(HttpMethod.Post, "api/generate", secret, """{"model":"stories260K:latest","prompt":"hi","stream":false}""");
        Assert.Equal(HttpStatusCode.Forbidden, generate.StatusCode);

        (_, string allowed) = keys.Store.Create("this-model", models: ["stories260K"]);
        using HttpResponseMessage ok = await SendAsync(HttpMethod.Post, "v1/embeddings", allowed, EmbedBody);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        // Listings show a key only the models it may use.
        using HttpResponseMessage hidden = await SendAsync(HttpMethod.Get, "v1/models", secret);
        Assert.Equal(0, (await RunningServer.JsonAsync(hidden)).GetProperty("data").GetArrayLength());
        using HttpResponseMessage hiddenOne = await SendAsync(HttpMethod.Get, "v1/models/stories260K", secret);
        Assert.Equal(HttpStatusCode.NotFound, hiddenOne.StatusCode);
        using HttpResponseMessage tags = await SendAsync(HttpMethod.Get, "api/tags", secret);
        Assert.Equal(0, (await RunningServer.JsonAsync(tags)).GetProperty("models").GetArrayLength());
        using HttpResponseMessage shown = await SendAsync(HttpMethod.Get, "v1/models", allowed);
        Assert.Equal(1, (await RunningServer.JsonAsync(shown)).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Third_request_in_a_minute_over_rpm_2_is_429_with_retry_after()
    {
        (_, string secret) = keys.Store.Create("rpm-2", requestsPerMinute: 2);
        for (int i = 0; i < 2; i++)
        {
            using HttpResponseMessage ok = await SendAsync(HttpMethod.Get, "v1/models", secret);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using HttpResponseMessage refused = await SendAsync(HttpMethod.Get, "v1/models", secret);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        Assert.Equal("rate_limit_error", (await RunningServer.JsonAsync(refused)).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Tokens_from_usage_count_against_tpm()
    {
        (_, string secret) = keys.Store.Create("tpm-3", tokensPerMinute: 3);
        using HttpResponseMessage first = await SendAsync(HttpMethod.Post, "v1/embeddings", secret, EmbedBody);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True((await RunningServer.JsonAsync(first)).GetProperty("usage").GetProperty("total_tokens").GetInt32() > 3);
        using HttpResponseMessage second = await SendAsync(HttpMethod.Post, "v1/embeddings", secret, EmbedBody);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.NotNull(second.Headers.RetryAfter);
    }

    [Fact]
    public async Task Cors_headers_only_with_cors_origin()
    {
        (_, string secret) = keys.Store.Create("cors");
        using HttpResponseMessage allowed = await SendAsync(HttpMethod.Get, "v1/models", secret, origin: KeysFixture.Origin);
        Assert.Equal(KeysFixture.Origin, allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using HttpResponseMessage stranger = await SendAsync(HttpMethod.Get, "v1/models", secret, origin: "https://evil.example");
        Assert.False(stranger.Headers.Contains("Access-Control-Allow-Origin"));

        // A preflight carries no credentials; it is answered without a key.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "v1/chat/completions");
        preflight.Headers.Add("Origin", KeysFixture.Origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using HttpResponseMessage answer = await Server.Http.SendAsync(preflight);
        Assert.True(answer.IsSuccessStatusCode);
        Assert.Equal(KeysFixture.Origin, answer.Headers.GetValues("Access-Control-Allow-Origin").Single());

        var request = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        request.Headers.Add("Origin", KeysFixture.Origin);
        using HttpResponseMessage noCors = await open.Server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, noCors.StatusCode);
        Assert.False(noCors.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("127.0.0.1", null, false)]
    [InlineData("::1", null, false)]
    [InlineData("localhost", null, false)]
    [InlineData("0.0.0.0", null, true)]
    [InlineData("192.168.1.5", null, true)]
    [InlineData("0.0.0.0", false, false)]
    [InlineData("127.0.0.1", true, true)]
    public void Keys_are_required_by_default_off_loopback(string host, bool? requireKey, bool required) =>
        Assert.Equal(required, new ServerOptions { Host = host, RequireKey = requireKey }.KeysRequired);

    [Fact]
    public void Store_keeps_only_hashes_and_unique_names()
    {
        (ApiKey key, string secret) = keys.Store.Create("hashed", 5, 100, ["a", " b "]);
        Assert.StartsWith(KeyStore.SecretPrefix, secret, StringComparison.Ordinal);
        Assert.Equal(KeyStore.SecretPrefix.Length + 64, secret.Length);
        Assert.StartsWith(key.Prefix, secret, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], key.Models);
        Assert.Throws<ArgumentException>(() => keys.Store.Create("hashed"));
        Assert.Throws<ArgumentException>(() => keys.Store.Create(" "));

        byte[] db = File.ReadAllBytes(keys.Store.DatabasePath);
        Assert.DoesNotContain(secret, Encoding.ASCII.GetString(db), StringComparison.Ordinal);

        ApiKey listed = Assert.Single(keys.Store.List(), k => k.Name == "hashed");
        Assert.Equal(5, listed.RequestsPerMinute);
        Assert.Equal(100, listed.TokensPerMinute);
        Assert.Equal(key.Models, listed.Models);
        Assert.Equal("hashed", keys.Store.Authenticate(secret)?.Name);
        Assert.Null(keys.Store.Authenticate(secret[..^1] + "x"));
    }
}

/// <summary>A server that requires keys (data directory in a temp folder) and allows one CORS origin.</summary>
public sealed class KeysFixture : IAsyncLifetime
{
    public const string Origin = "https://app.example";

    private readonly string _home = Directory.CreateTempSubdirectory("cria-keys-").FullName;

    public RunningServer Server { get; private set; } = null!;

    public KeyStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Store = new KeyStore(_home);
        Server = await RunningServer.StartAsync(new ServerOptions { RequireKey = true, DataDirectory = _home, CorsOrigins = [Origin] });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }
}
