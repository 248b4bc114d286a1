using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

using Cria.Server.Auth;

namespace Cria.Server.Tests;

/// <summary>
/// Limits on what one request may ask for (SECURITY.md §2, §3): JSON nesting on every dialect,
/// <c>--max-tokens</c>, <c>n</c>, and <c>--rate-limit</c> per client address and per key, with 429 and
/// <c>Retry-After</c> in the route's dialect.
/// </summary>
public sealed class RequestLimitTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    public static TheoryData<string, string> Routes() => new()
    {
        { "v1/completions", """{"model":"stories260K","prompt":"Once","max_tokens":2,"x":%}""" },
        { "v1/chat/completions", """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"x":%}""" },
        { "v1/embeddings", """{"model":"stories260K","input":"Once","x":%}""" },
        { "api/generate", """{"model":"stories260K","prompt":"Once","stream":false,"options":{"num_predict":2},"x":%}""" },
        { "api/chat", """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":2},"x":%}""" },
        { "api/embed", """{"model":"stories260K","input":"Once","x":%}""" },
        { "api/embeddings", """{"model":"stories260K","prompt":"Once","x":%}""" },
        { "api/show", """{"model":"stories260K","x":%}""" },
    };

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_body_nested_past_the_limit_is_400_naming_it_fast_and_a_shallow_one_works(string path, string template)
    {
        foreach (int depth in new[] { 64, 10_000, 400_000 })
        {
            var clock = Stopwatch.StartNew();
            using HttpResponseMessage deep = await fixture.Server.PostJsonAsync(path, template.Replace("%", Nested(depth), StringComparison.Ordinal));
            string text = await deep.Content.ReadAsStringAsync();
            Assert.True(deep.StatusCode == HttpStatusCode.BadRequest, $"{path} depth {depth}: {(int)deep.StatusCode} {text}");
            Assert.Contains("(line 1, byte ", text, StringComparison.Ordinal);
            Assert.Contains("nested deeper than the limit of 64 levels", text, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{path} depth {depth} took {clock.Elapsed}");
        }
        // 62 levels in an unknown field, 63 with the body itself: within the limit, and ignored.
        using HttpResponseMessage ok = await fixture.Server.PostJsonAsync(path, template.Replace("%", Nested(62), StringComparison.Ordinal));
        Assert.True(ok.StatusCode == HttpStatusCode.OK, $"{path}: {(int)ok.StatusCode} {await ok.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Completions_without_max_tokens_get_16_and_n_above_1_is_400()
    {
        using HttpResponseMessage plain = await fixture.Server.PostJsonAsync("v1/completions", """{"model":"stories260K","prompt":"Once upon a time","temperature":0}""");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.InRange((await RunningServer.JsonAsync(plain)).GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 16);
        foreach (string n in new[] { "2", "1000000", "-1" })
        {
            using HttpResponseMessage many = await fixture.Server.PostJsonAsync("v1/chat/completions", $$"""{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"n":{{n}}}""");
            Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
            Assert.Equal("n", (await RunningServer.JsonAsync(many)).GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Max_tokens_clamps_every_dialect_and_is_the_default()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { MaxTokens = 5 });
        (string Path, string Body, Func<JsonElement, int> Count)[] cases =
        [
            ("v1/chat/completions", """{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":200,"temperature":0,"logit_bias":{"2":-100}}""",
                j => j.GetProperty("usage").GetProperty("completion_tokens").GetInt32()),
            ("v1/chat/completions", """{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"temperature":0,"logit_bias":{"2":-100}}""",
                j => j.GetProperty("usage").GetProperty("completion_tokens").GetInt32()),
            ("v1/completions", """{"model":"stories260K","prompt":"Once upon a time","max_tokens":100000,"temperature":0,"logit_bias":{"2":-100}}""",
                j => j.GetProperty("usage").GetProperty("completion_tokens").GetInt32()),
            ("api/generate", """{"model":"stories260K","prompt":"Once upon a time","stream":false,"options":{"num_predict":300,"temperature":0}}""",
                j => j.GetProperty("eval_count").GetInt32()),
            ("api/chat", """{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"stream":false,"options":{"num_predict":-1,"temperature":0}}""",
                j => j.GetProperty("eval_count").GetInt32()),
        ];
        foreach ((string path, string body, Func<JsonElement, int> count) in cases)
        {
            using HttpResponseMessage response = await server.PostJsonAsync(path, body);
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {text}");
            using JsonDocument json = JsonDocument.Parse(text);
            Assert.InRange(count(json.RootElement), 1, 5);
        }
    }

    private static async Task<HttpResponseMessage> GetAsync(RunningServer server, string path, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return await server.Http.SendAsync(request);
    }

    [Fact]
    public async Task The_rate_limit_per_client_address_answers_429_with_retry_after_in_each_dialect()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { RateLimitPerMinute = 3 });
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage ok = await GetAsync(server, i % 2 == 0 ? "v1/models" : "api/tags");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using HttpResponseMessage openAi = await GetAsync(server, "v1/models");
        Assert.Equal((HttpStatusCode)429, openAi.StatusCode);
        Assert.InRange(openAi.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 60);
        JsonElement error = (await RunningServer.JsonAsync(openAi)).GetProperty("error");
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("3 requests per minute", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        using HttpResponseMessage ollama = await server.PostJsonAsync("api/generate", """{"model":"stories260K","prompt":"Once","stream":false}""");
        Assert.Equal((HttpStatusCode)429, ollama.StatusCode);
        Assert.NotNull(ollama.Headers.RetryAfter);
        Assert.Equal(JsonValueKind.String, (await RunningServer.JsonAsync(ollama)).GetProperty("error").ValueKind);

        using HttpResponseMessage health = await GetAsync(server, "health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task The_rate_limit_is_per_key_and_a_keys_own_rpm_takes_its_place()
    {
        string home = Directory.CreateTempSubdirectory("cria-rate-").FullName;
        try
        {
            var store = new KeyStore(home);
            (_, string a) = store.Create("a");
            (_, string b) = store.Create("b");
            (_, string own) = store.Create("own-rpm", requestsPerMinute: 4);
            await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { RequireKey = true, DataDirectory = home, RateLimitPerMinute = 2 });
            async Task<HttpStatusCode[]> Burst(string key, int count)
            {
                var statuses = new HttpStatusCode[count];
                for (int i = 0; i < count; i++)
                {
                    using HttpResponseMessage r = await GetAsync(server, "v1/models", key);
                    statuses[i] = r.StatusCode;
                }
                return statuses;
            }
            var tooMany = (HttpStatusCode)429;
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, tooMany], await Burst(a, 3));
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, tooMany], await Burst(b, 3));
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, tooMany], await Burst(own, 5));

            using HttpResponseMessage limited = await GetAsync(server, "v1/models", a);
            Assert.NotNull(limited.Headers.RetryAfter);
            Assert.Contains("the key \"a\"", (await RunningServer.JsonAsync(limited)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            // Without a key it is still 401, not 429: the limit counts keys, not strangers.
            using HttpResponseMessage none = await GetAsync(server, "v1/models");
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
