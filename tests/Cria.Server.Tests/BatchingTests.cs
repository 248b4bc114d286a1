using System.Net;
using System.Text.Json;

using Cria.Server.Engine;

namespace Cria.Server.Tests;

/// <summary>
/// Continuous batching on a real server: concurrent generations share forward passes yet give the
/// text each gets alone; a shared prompt prefix is reused; cancellations, over-long prompts and
/// completions mixed together leave every context back and nothing running.
/// </summary>
public sealed class BatchingTests
{
    private static string Body(string content, int maxTokens, bool stream = false) =>
        $$"""{"model":"stories260K","messages":[{"role":"user","content":"{{content}}"}],"max_tokens":{{maxTokens}},"temperature":0,"stream":{{(stream ? "true" : "false")}}}""";

    private static async Task<(string Text, JsonElement Usage)> ChatAsync(RunningServer server, string content, int maxTokens)
    {
        using HttpResponseMessage response = await server.PostJsonAsync("v1/chat/completions", Body(content, maxTokens));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement json = await RunningServer.JsonAsync(response);
        return (json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!, json.GetProperty("usage"));
    }

    [Fact]
    public async Task Concurrent_generations_give_the_same_text_as_alone()
    {
        string[] prompts = ["Tell me about a cat.", "Tell me about a big red ball and a dog.", "Once upon a time", "Lily and Tom went to the park to play."];
        string[] alone;
        await using (RunningServer single = await RunningServer.StartAsync(new ServerOptions { Parallel = 1 }))
        {
            alone = new string[prompts.Length];
            for (int i = 0; i < prompts.Length; i++)
            {
                alone[i] = (await ChatAsync(single, prompts[i], 40)).Text;
            }
        }
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 4 });
        string[] together = await Task.WhenAll(prompts.Select(async p => (await ChatAsync(server, p, 40)).Text));
        Assert.Equal(alone, together);
    }

    [Fact]
    public async Task A_shared_prefix_is_reused_and_reported_as_cached_tokens()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 1 });
        string system = string.Concat(Enumerable.Repeat("Lily liked to play with her red ball in the garden. ", 6));
        (string first, JsonElement usage1) = await ChatAsync(server, system + "What did Lily do?", 16);
        Assert.Equal(0, usage1.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        (string second, JsonElement usage2) = await ChatAsync(server, system + "What did Lily do?", 16);
        Assert.Equal(first, second);
        int prompt = usage2.GetProperty("prompt_tokens").GetInt32();
        // Whole KV blocks of 32 positions are reused, up to (not including) the prompt's last token.
        Assert.Equal((prompt - 1) / 32 * 32, usage2.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        (_, JsonElement usage3) = await ChatAsync(server, system + "Where was the ball?", 4);
        Assert.InRange(usage3.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32(), 64, prompt - 2);
        Assert.True(server.Metrics.CachedPromptTokens > prompt);
    }

    [Fact]
    public async Task Mixed_load_with_cancellations_and_refusals_leaves_every_context_back()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 3, MaxQueue = 64, PieceDelay = TimeSpan.FromMilliseconds(2) });
        string tooLong = string.Concat(Enumerable.Repeat("word ", 600));
        var tasks = new List<Task>();
        for (int i = 0; i < 15; i++)
        {
            int k = i;
            tasks.Add(Task.Run(async () =>
            {
                switch (k % 3)
                {
                    case 0:
                        (string text, _) = await ChatAsync(server, $"Story number {k}", 20);
                        Assert.NotNull(text);
                        break;
                    case 1:
                        // A client that reads a little of the stream and goes away (no draining: the connection closes).
                        using (var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.BaseAddress })
                        {
                            var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
                            {
                                Content = new StringContent(Body($"Tale {k}", 400, stream: true), System.Text.Encoding.UTF8, "application/json"),
                            };
                            using HttpResponseMessage stream = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
                            await reader.ReadLineAsync();
                        }
                        break;
                    default:
                        using (HttpResponseMessage refused = await server.PostJsonAsync("v1/chat/completions", Body(tooLong, 10)))
                        {
                            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
                        }
                        break;
                }
            }));
        }
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));

        // Cancelled sequences leave at the engine's next step: wait (bounded) for the last to end.
        ServedModel model = null!;
        for (int i = 0; i < 100 && (server.Metrics.ActiveGenerations > 0 || (model = LoadedModel(server)).KvTokensInUse > 0 || model.Engine.Running > 0); i++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(0, server.Metrics.ActiveGenerations);
        Assert.Equal(server.Metrics.GenerationsStarted, server.Metrics.GenerationsFinished);
        Assert.True(server.Metrics.GenerationsCancelled >= 1, $"started {server.Metrics.GenerationsStarted}, cancelled {server.Metrics.GenerationsCancelled}, generated {server.Metrics.GeneratedTokens}");
        model = LoadedModel(server);
        Assert.Equal(0, model.Engine.Running);
        Assert.Equal(0, model.RentedContexts);
        Assert.InRange(model.CreatedContexts, 1, 3);
        Assert.Equal(0, model.KvPool.BlocksInUse); // every KV block is back in the pool
    }

    [Fact]
    public async Task A_small_kv_budget_preempts_and_recomputes_without_changing_any_answer()
    {
        string[] prompts = ["Tell me about a cat.", "Tell me about a big red ball and a dog.", "Lily and Tom went to the park to play."];
        string[] alone;
        await using (RunningServer single = await RunningServer.StartAsync(new ServerOptions { Parallel = 1, ContextLength = 256 }))
        {
            alone = await Task.WhenAll(prompts.Select(p => ChatAsync(single, p, 120))).ContinueWith(t => t.Result.Select(r => r.Text).ToArray());
        }
        // One context's worth of blocks for three sequences that each grow past a third of it.
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 3, ContextLength = 256, KvBudgetTokens = 256 });
        string[] together = (await Task.WhenAll(prompts.Select(p => ChatAsync(server, p, 120)))).Select(r => r.Text).ToArray();
        Assert.Equal(alone, together);
        ServedModel model = LoadedModel(server);
        Assert.True(model.Preemptions > 0, "the budget should have forced a preemption");
        Assert.Equal(0, model.KvPool.BlocksInUse);
    }

    private static ServedModel LoadedModel(RunningServer server) => Assert.Single(server.Registry.Loaded());
}
