using System.ClientModel;
using System.Net;
using System.Text.Json;

using Cria.Guard.Policy;

using OpenAI;
using OpenAI.Chat;

namespace Cria.Server.Tests;

/// <summary>
/// A <c>llama_guard</c> input check on a real server. No Llama Guard GGUF is available here, so the guard model
/// is the bundled stories260K, which is no classifier: it runs through the engine (template, forward, greedy
/// decode) and answers neither safe nor unsafe, so <c>on_error</c> decides every request.
/// </summary>
public sealed class LlamaGuardServerTests
{
    private static string Policy(string onError, string model = "stories260K") =>
        $$"""{"input": [{"detector": "llama_guard", "model": "{{model}}", "categories": ["S1", "S10", "S11"], "action": "block", "on_error": "{{onError}}"}]}""";

    private static Task<RunningServer> StartAsync(string policy) =>
        RunningServer.StartAsync(new ServerOptions { Guard = GuardConfig.Parse(policy), Parallel = 2 });

    [Theory]
    [InlineData("v1/chat/completions", """{"messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":4}""")]
    [InlineData("api/generate", """{"prompt":"Once upon a time","stream":false}""")]
    public async Task With_on_error_block_a_guard_that_is_no_classifier_refuses_every_request(string path, string body)
    {
        await using RunningServer server = await StartAsync(Policy("block"));
        using HttpResponseMessage response = await server.PostJsonAsync(path, body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("llama_guard", text, StringComparison.Ordinal);
        Assert.Contains("failed", text, StringComparison.Ordinal);
        Assert.Contains("gave no classifier answer", text, StringComparison.Ordinal); // it ran, and answered something else
        if (path.StartsWith("v1/", StringComparison.Ordinal))
        {
            using JsonDocument doc = JsonDocument.Parse(text);
            Assert.Equal("content_filter", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Equal(0, server.Metrics.GenerationsStarted);
        Assert.Equal(1, server.Metrics.GuardBlocked);
    }

    [Fact]
    public async Task With_on_error_allow_requests_pass_through_the_sdk()
    {
        await using RunningServer server = await StartAsync(Policy("allow"));
        var chat = new ChatClient("stories260K", new ApiKeyCredential("x"),
            new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });
        ClientResult<ChatCompletion> result = await chat.CompleteChatAsync([new UserChatMessage("Once upon a time")], new ChatCompletionOptions { MaxOutputTokenCount = 4 });
        Assert.NotEmpty(result.Value.Content[0].Text);
        Assert.Equal(0, server.Metrics.GuardBlocked);
    }

    [Fact]
    public async Task A_guard_model_that_does_not_exist_stops_the_start()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-llama-guard-" + Guid.NewGuid().ToString("N") + ".gguf");
        FileNotFoundException e = await Assert.ThrowsAsync<FileNotFoundException>(() => StartAsync(Policy("block", missing.Replace("\\", "\\\\", StringComparison.Ordinal))));
        Assert.Contains("llama_guard model", e.Message, StringComparison.Ordinal);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_llama_guard_check_on_the_output_stops_the_start()
    {
        string policy = """{"output": [{"detector": "llama_guard", "model": "stories260K", "action": "block"}]}""";
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(policy));
        Assert.Contains("input only", e.Message, StringComparison.Ordinal);
    }
}

/// <summary>The in-process classifier on its own: a score and an answer from the engine, and its timeout.</summary>
public sealed class LocalGuardClassifierTests
{
    [Fact]
    public async Task It_scores_the_first_position_and_decodes_an_answer()
    {
        using var classifier = Guard.LocalGuardClassifier.Load(ServerOptions.BundledModelPath, TimeSpan.FromSeconds(60));
        Cria.Guard.LlamaGuard.ClassifierVerdict verdict = await classifier.ClassifyAsync("Is this safe?", CancellationToken.None);
        Assert.InRange(verdict.UnsafeProbability, 0.0, 1.0);
        Assert.NotNull(verdict.Answer);
    }

    [Fact]
    public async Task A_classification_past_the_timeout_is_a_timeout_error()
    {
        using var classifier = Guard.LocalGuardClassifier.Load(ServerOptions.BundledModelPath, TimeSpan.FromTicks(1));
        await Assert.ThrowsAsync<TimeoutException>(() => classifier.ClassifyAsync(new string('a', 200), CancellationToken.None));
    }
}

/// <summary>/v1/moderations with a llama_guard check: a failed guard flags only when its check fails closed.</summary>
public sealed class LlamaGuardModerationTests
{
    [Theory]
    [InlineData("block", true)]
    [InlineData("allow", false)]
    public async Task A_guard_that_is_no_classifier_flags_as_its_on_error_says(string onError, bool flagged)
    {
        string policy = $$"""{"input": [{"detector": "llama_guard", "model": "stories260K", "action": "block", "on_error": "{{onError}}"}]}""";
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Guard = GuardConfig.Parse(policy) });
        using HttpResponseMessage response = await server.PostJsonAsync("v1/moderations", """{"input": "Once upon a time"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement result = (await RunningServer.JsonAsync(response)).GetProperty("results")[0];
        Assert.Equal(flagged, result.GetProperty("flagged").GetBoolean());
        Assert.Equal(flagged, result.GetProperty("categories").GetProperty("llama_guard").GetBoolean());
        Assert.False(result.GetProperty("categories").GetProperty("violence").GetBoolean());
    }
}
