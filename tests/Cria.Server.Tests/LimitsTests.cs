using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Cria.Server.Tests;

/// <summary>Disconnects, the queue and template failures, each on a server of its own settings.</summary>
public sealed class LimitsTests
{
    private const string SlowStream = """{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":400,"stream":true}""";

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_generation()
    {
        // 20 ms after every piece: the 400-token generation would take 8 s if nothing stopped it.
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 1, PieceDelay = TimeSpan.FromMilliseconds(20) });
        Engine.GenerationRun? seen = null;
        using (HttpResponseMessage warm = await server.PostJsonAsync("v1/chat/completions", """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":1}"""))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }
        Assert.Single(server.Registry.Loaded()).Engine.BeforeForward = runs => seen = runs[0];
        using (HttpResponseMessage response = await server.PostStreamingAsync("v1/chat/completions", SlowStream))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            for (int events = 0; events < 3;)
            {
                string? line = await reader.ReadLineAsync();
                Assert.NotNull(line);
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events++;
                }
            }
        } // disposing the response closes the connection mid-stream

        await WaitUntilAsync(() => server.Metrics.GenerationsCancelled == 1, TimeSpan.FromSeconds(5), "the generation is cancelled");
        Assert.Equal(0, server.Metrics.ActiveGenerations);
        Assert.True(server.Metrics.GeneratedTokens < 200, $"generated {server.Metrics.GeneratedTokens} tokens after the client left");
        // The engine noticed within one step of the cancellation (a step may have been running when it came).
        Assert.NotNull(seen?.CancelledAtStep);
        Assert.InRange(seen.EndedAtStep - seen.CancelledAtStep!.Value, 0, 1);

        // With one slot, the next request is served at once: the slot was given back.
        var clock = Stopwatch.StartNew();
        using HttpResponseMessage next = await server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":3}""");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the next request took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 1, MaxQueue = 0, PieceDelay = TimeSpan.FromMilliseconds(20) });
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using HttpResponseMessage busy = await server.PostStreamingAsync("v1/chat/completions", SlowStream, cancel.Token);
        await WaitUntilAsync(() => server.Metrics.ActiveGenerations == 1, TimeSpan.FromSeconds(5), "the first generation runs");

        using HttpResponseMessage refused = await server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":3}""");
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        JsonElement error = (await RunningServer.JsonAsync(refused)).GetProperty("error");
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        cancel.Cancel();
    }

    [Fact]
    public async Task Requests_beyond_parallel_wait_for_a_slot()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 1 });
        const string request = """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":16,"temperature":0}""";
        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => server.PostJsonAsync("v1/chat/completions", request)));
        var texts = new List<string>();
        foreach (HttpResponseMessage r in responses)
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            texts.Add((await RunningServer.JsonAsync(r)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!);
            r.Dispose();
        }
        Assert.Single(texts.Distinct());
        Assert.Equal(4, server.Metrics.GenerationsFinished);
    }

    [Fact]
    public async Task A_failing_template_is_500_with_its_line_and_a_raised_one_is_400()
    {
        string dir = Directory.CreateTempSubdirectory("cria-server-test").FullName;
        try
        {
            string failing = Path.Combine(dir, "failing.jinja");
            await File.WriteAllTextAsync(failing, "{% for m in messages %}\n{{ m.content.no_such_method() }}\n{% endfor %}");
            await using (RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = failing }))
            {
                using HttpResponseMessage response = await server.PostJsonAsync("v1/chat/completions",
                    """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":3}""");
                Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
                JsonElement error = (await RunningServer.JsonAsync(response)).GetProperty("error");
                Assert.Equal("server_error", error.GetProperty("type").GetString());
                Assert.Contains("line 2", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            }

            string raising = Path.Combine(dir, "raising.jinja");
            await File.WriteAllTextAsync(raising, "{% if messages[0].role != 'system' %}{{ raise_exception('a system message must come first') }}{% endif %}");
            await using (RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = raising }))
            {
                using HttpResponseMessage response = await server.PostJsonAsync("v1/chat/completions",
                    """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":3}""");
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Contains("a system message must come first", (await RunningServer.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_template_that_writes_bos_does_not_double_it()
    {
        string dir = Directory.CreateTempSubdirectory("cria-server-test").FullName;
        try
        {
            const string request = """{"model":"stories260K","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":1}""";
            var promptTokens = new List<int>();
            foreach (string template in new[] { "{% for m in messages %}{{ m.content }}{% endfor %}", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}" })
            {
                string path = Path.Combine(dir, $"t{promptTokens.Count}.jinja");
                await File.WriteAllTextAsync(path, template);
                await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = path });
                using HttpResponseMessage response = await server.PostJsonAsync("v1/chat/completions", request);
                promptTokens.Add((await RunningServer.JsonAsync(response)).GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
            }
            // "Once upon a time" is 4 tokens in stories260K's vocabulary, plus the one BOS the tokenizer adds.
            Assert.Equal([5, 5], promptTokens);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Missing_model_files_and_bad_options_fail_at_build()
    {
        Assert.Throws<FileNotFoundException>(() => CriaServer.Build(new ServerOptions { ModelPaths = ["/nonexistent/model.gguf"], Port = 0 }));
        Assert.Throws<ArgumentException>(() => CriaServer.Build(new ServerOptions { Parallel = 0, Port = 0 }));
    }
}
