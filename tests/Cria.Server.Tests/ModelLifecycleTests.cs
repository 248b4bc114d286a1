using System.Net;
using System.Text.Json;

using Microsoft.Extensions.Logging;

using OllamaSharp;

namespace Cria.Server.Tests;

/// <summary>
/// Models load on first use and unload when idle (keep-alive), on request (keep_alive 0), or to stay
/// within --max-loaded; aliases and NAME=PATH names; per-request log lines.
/// </summary>
public sealed class ModelLifecycleTests
{
    private static string Bundled => ServerOptions.BundledModelPath;

    private static async Task<List<string>> RunningAsync(RunningServer server)
    {
        using HttpResponseMessage ps = await server.Http.GetAsync("api/ps");
        Assert.Equal(HttpStatusCode.OK, ps.StatusCode);
        JsonElement body = await RunningServer.JsonAsync(ps);
        return [.. body.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()!)];
    }

    private static async Task GenerateAsync(RunningServer server, string model, string? keepAlive = null)
    {
        string extra = keepAlive is null ? "" : $",\"keep_alive\":{keepAlive}";
        using HttpResponseMessage response = await server.PostJsonAsync("api/generate",
            $$"""{"model":"{{model}}","prompt":"Once","stream":false,"options":{"num_predict":2}{{extra}}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task An_idle_model_unloads_after_its_keep_alive()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { KeepAlive = TimeSpan.FromMinutes(10) });
        Assert.Empty(await RunningAsync(server));
        await GenerateAsync(server, "stories260K");
        Assert.Equal(["stories260K:latest"], await RunningAsync(server));
        // A request's keep_alive sets how long the model stays after it.
        await GenerateAsync(server, "stories260K", "\"300ms\"");
        for (int i = 0; i < 50 && (await RunningAsync(server)).Count > 0; i++)
        {
            await Task.Delay(100);
        }
        Assert.Empty(await RunningAsync(server));
        // And it loads again on the next request.
        await GenerateAsync(server, "stories260K");
        Assert.Equal(["stories260K:latest"], await RunningAsync(server));
    }

    [Fact]
    public async Task Keep_alive_zero_unloads_through_OllamaSharp_and_bad_values_are_400()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await GenerateAsync(server, "stories260K");
        Assert.Single(await RunningAsync(server));
        using var client = new OllamaApiClient(new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) });
        await client.RequestModelUnloadAsync("stories260K");
        Assert.Empty(await RunningAsync(server));

        using HttpResponseMessage bad = await server.PostJsonAsync("api/generate", """{"model":"stories260K","prompt":"x","keep_alive":"5 parsecs"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("keep_alive", (await RunningServer.JsonAsync(bad)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Max_loaded_unloads_the_least_recently_used_idle_model()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions
        {
            ModelPaths = [$"first={Bundled}", $"second={Bundled}"],
            MaxLoadedModels = 1,
        });
        await GenerateAsync(server, "first");
        Assert.Equal(["first:latest"], await RunningAsync(server));
        await GenerateAsync(server, "second");
        Assert.Equal(["second:latest"], await RunningAsync(server));
    }

    [Fact]
    public async Task Aliases_are_listed_and_answer_for_their_model()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions
        {
            ModelPaths = [$"tiny-story={Bundled}"],
            Aliases = new Dictionary<string, string> { ["gpt-4o-mini"] = "tiny-story" },
        });
        using HttpResponseMessage models = await server.Http.GetAsync("v1/models");
        List<string> ids = [.. (await RunningServer.JsonAsync(models)).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!)];
        Assert.Equal(["tiny-story", "gpt-4o-mini"], ids);

        using HttpResponseMessage chat = await server.PostJsonAsync("v1/chat/completions",
            """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"max_tokens":3}""");
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal("tiny-story", (await RunningServer.JsonAsync(chat)).GetProperty("model").GetString());

        using HttpResponseMessage one = await server.Http.GetAsync("v1/models/gpt-4o-mini");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
    }

    [Fact]
    public void Bad_names_and_aliases_are_refused_at_start()
    {
        Assert.Contains("no model is named", Assert.Throws<ArgumentException>(() => CriaServer.Build(new ServerOptions
        {
            Port = 0,
            Aliases = new Dictionary<string, string> { ["x"] = "nope" },
        })).Message, StringComparison.Ordinal);
        Assert.Contains("the name", Assert.Throws<ArgumentException>(() => CriaServer.Build(new ServerOptions
        {
            Port = 0,
            ModelPaths = [$"bad name!={Bundled}"],
        })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_generation_logs_one_line_and_prompts_only_when_asked()
    {
        var lines = new List<string>();
        await using (RunningServer server = await RunningServer.StartAsync(new ServerOptions(), logging => logging.AddProvider(new ListLoggerProvider(lines))))
        {
            await GenerateAsync(server, "stories260K");
        }
        string line = Assert.Single(lines, l => l.StartsWith("/api/generate", StringComparison.Ordinal));
        Assert.Contains("model=stories260K", line, StringComparison.Ordinal);
        Assert.Contains("completion_tokens=2", line, StringComparison.Ordinal);
        Assert.Contains("finish=length", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Once", line, StringComparison.Ordinal);

        lines.Clear();
        await using (RunningServer server = await RunningServer.StartAsync(new ServerOptions { LogPrompts = true }, logging => logging.AddProvider(new ListLoggerProvider(lines))))
        {
            await GenerateAsync(server, "stories260K");
        }
        Assert.Contains("Once", Assert.Single(lines, l => l.StartsWith("/api/generate", StringComparison.Ordinal)), StringComparison.Ordinal);
    }
}
