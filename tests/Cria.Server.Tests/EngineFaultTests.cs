using System.Net;
using System.Text.Json;

using Cria.Server.Engine;

using Microsoft.Extensions.Logging;

namespace Cria.Server.Tests;

/// <summary>
/// One bad sequence never takes its neighbours or the server down: an engine failure in one sequence
/// (injected before the forward passes that hold it) ends only that one, with finish reason "error"
/// in the API's shape, the request log and the metrics, while the sequences batched with it give the
/// text they give alone; hostile durations and grammars are refused or handled where they are parsed.
/// </summary>
public sealed class EngineFaultTests
{
    private const string Poisoned = "Once upon a time there was a dragon who";

    private static string Completion(string prompt, int maxTokens, bool stream = false) =>
        $$"""{"model":"stories260K","prompt":"{{prompt}}","max_tokens":{{maxTokens}},"temperature":0,"stream":{{(stream ? "true" : "false")}}}""";

    private static async Task<string> CompleteAsync(RunningServer server, string prompt, int maxTokens)
    {
        using HttpResponseMessage response = await server.PostJsonAsync("v1/completions", Completion(prompt, maxTokens));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await RunningServer.JsonAsync(response)).GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    [Fact]
    public async Task A_sequence_that_fails_mid_decode_ends_alone_with_finish_reason_error()
    {
        var lines = new List<string>();
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 4 },
            logging => logging.AddProvider(new ListLoggerProvider(lines)));
        string[] prompts = ["Tell me about a cat.", "Lily and Tom went to the park", "The big red ball"];
        var alone = new string[prompts.Length];
        for (int i = 0; i < prompts.Length; i++)
        {
            alone[i] = await CompleteAsync(server, prompts[i], 48);
        }
        ServedModel model = Assert.Single(server.Registry.Loaded());
        int[] poison = model.Local.Tokenizer.Encode(Poisoned, addSpecial: true, parseSpecial: true);
        int failedPasses = 0;
        model.Engine.BeforeForward = runs =>
        {
            foreach (GenerationRun run in runs)
            {
                if (run.Prompt.AsSpan().SequenceEqual(poison) && run.GeneratedIds.Count >= 3)
                {
                    Interlocked.Increment(ref failedPasses);
                    throw new InvalidOperationException("injected fault");
                }
            }
        };
        lines.Clear();

        Task<string[]> innocent = Task.WhenAll(prompts.Select(p => CompleteAsync(server, p, 48)));
        using HttpResponseMessage stream = await server.PostStreamingAsync("v1/completions", Completion(Poisoned, 48, stream: true));
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        string body = await stream.Content.ReadAsStringAsync();
        using HttpResponseMessage whole = await server.PostJsonAsync("v1/completions", Completion(Poisoned, 48));
        Assert.Equal(alone, await innocent);

        // The stream: a few pieces, a last chunk with finish_reason "error", then OpenAI's error event; no [DONE].
        string[] events = [.. body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..])];
        Assert.DoesNotContain("[DONE]", events);
        using JsonDocument error = JsonDocument.Parse(events[^1]);
        Assert.Contains("injected fault", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        using JsonDocument last = JsonDocument.Parse(events[^2]);
        Assert.Equal("error", last.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.True(events.Length >= 4, body);

        // Not streamed: a 500 in OpenAI's shape.
        Assert.Equal(HttpStatusCode.InternalServerError, whole.StatusCode);
        JsonElement wholeError = (await RunningServer.JsonAsync(whole)).GetProperty("error");
        Assert.Equal("generation_failed", wholeError.GetProperty("code").GetString());

        Assert.Equal(2, server.Metrics.GenerationsFailed);
        Assert.True(failedPasses >= 2);
        string metrics = await server.Http.GetStringAsync("metrics");
        Assert.Contains("finish_reason=\"error\"", metrics, StringComparison.Ordinal);
        lock (lines)
        {
            Assert.Equal(2, lines.Count(l => l.Contains("duration_ms=", StringComparison.Ordinal) && l.EndsWith("finish=error", StringComparison.Ordinal)));
            Assert.Equal(2, lines.Count(l => l.Contains("generation failed", StringComparison.Ordinal)));
            Assert.Equal(3, lines.Count(l => l.EndsWith("finish=length", StringComparison.Ordinal)));
        }

        // The engine goes on: every context and block is back, and the next request is served.
        model.Engine.BeforeForward = null;
        Assert.Equal(alone[0], await CompleteAsync(server, prompts[0], 48));
        Assert.Equal(0, model.RentedContexts);
        Assert.Equal(0, model.KvPool.BlocksInUse);
    }

    [Fact]
    public async Task A_sequence_that_fails_in_its_prompt_ends_alone_and_ollama_says_done_reason_error()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 2 });
        string alone = await CompleteAsync(server, "Tell me about a cat.", 32);
        ServedModel model = Assert.Single(server.Registry.Loaded());
        model.Engine.BeforeForward = runs =>
        {
            foreach (GenerationRun run in runs)
            {
                if (run.GeneratedIds.Count == 0 && run.Model.Local.Tokenizer.Decode(run.Prompt).Contains("dragon", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("injected prompt fault");
                }
            }
        };
        Task<string> innocent = CompleteAsync(server, "Tell me about a cat.", 32);
        using HttpResponseMessage ollama = await server.PostJsonAsync("api/generate", """{"model":"stories260K","prompt":"a dragon","raw":true}""");
        string[] lines = (await ollama.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(alone, await innocent);
        using JsonDocument done = JsonDocument.Parse(lines[^2]);
        Assert.True(done.RootElement.GetProperty("done").GetBoolean());
        Assert.Equal("error", done.RootElement.GetProperty("done_reason").GetString());
        using JsonDocument error = JsonDocument.Parse(lines[^1]);
        Assert.Contains("injected prompt fault", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The reliability issue's reproducer: 4 clients, 200 requests against <c>--parallel 2</c>, every
    /// tenth an Ollama generate with a keep_alive past the calendar's end. It made well-formed requests
    /// fail with "a sequence may appear in one chunk of a batch only" and then ended the process.
    /// </summary>
    [Fact]
    public async Task Huge_keep_alives_among_concurrent_requests_fail_nothing_and_the_server_stays_up()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 2 });
        string[] keepAlives = ["9223372036854775807", "1e30", "\"2562047h\"", "1.7976931348623157e308", "-9223372036854775808"];
        int next = 0;
        var statuses = new List<(int Index, HttpStatusCode Status, string Body)>();
        async Task Client()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next) - 1;
                if (i >= 200)
                {
                    return;
                }
                HttpResponseMessage response = i % 10 == 9
                    ? await server.PostJsonAsync("api/generate", $$$"""{"model":"stories260K","prompt":"Once","stream":false,"keep_alive":{{{keepAlives[i / 10 % keepAlives.Length]}}},"options":{"num_predict":4}}""")
                    : await server.PostJsonAsync("v1/completions", Completion("Once upon a time", 6));
                string body = await response.Content.ReadAsStringAsync();
                lock (statuses)
                {
                    statuses.Add((i, response.StatusCode, body));
                }
                response.Dispose();
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Client())).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(200, statuses.Count);
        Assert.All(statuses, s => Assert.True(s.Status == HttpStatusCode.OK, $"request {s.Index}: {(int)s.Status} {s.Body}"));
        Assert.Equal(0, server.Metrics.GenerationsFailed);
        using HttpResponseMessage last = await server.PostJsonAsync("api/generate", """{"model":"stories260K","prompt":"Once","stream":false,"keep_alive":9223372036854775807,"options":{"num_predict":2}}""");
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        ServedModel model = Assert.Single(server.Registry.Loaded());
        Assert.True(model.ExpiresAt > DateTimeOffset.UtcNow.AddYears(50), $"{model.ExpiresAt}"); // kept loaded for good, not an overflow
    }

    [Fact]
    public async Task An_empty_grammar_gives_an_empty_answer_not_a_500()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 2 });
        foreach (bool stream in new[] { false, true })
        {
            string body = $$"""{"model":"stories260K","prompt":"Once","max_tokens":8,"grammar":"root ::= ","stream":{{(stream ? "true" : "false")}}}""";
            using HttpResponseMessage response = await server.PostJsonAsync("v1/completions", body);
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            if (!stream)
            {
                JsonElement choice = (await RunningServer.JsonAsync(response)).GetProperty("choices")[0];
                Assert.Equal("", choice.GetProperty("text").GetString());
                Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
            }
            else
            {
                Assert.Contains("\"finish_reason\":\"stop\"", text, StringComparison.Ordinal);
                Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
            }
        }
        Assert.Equal(0, server.Metrics.GenerationsFailed);
    }
}
