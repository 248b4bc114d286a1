using System.Net;

namespace Cria.Server.Tests;

/// <summary>/metrics in Prometheus text format, fed by OpenTelemetry: Cria's own counters and ASP.NET Core's request metrics.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_report_tokens_generations_and_http_requests()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        using (HttpResponseMessage chat = await server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":7,"temperature":0}"""))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }
        // The generation's counters are updated as its thread finishes, and the Prometheus exporter
        // caches a scrape briefly: read until the request shows (at most ~10 s).
        string text = "";
        for (int i = 0; i < 40 && Generated(text) < 7; i++)
        {
            if (i > 0)
            {
                await Task.Delay(250);
            }
            using HttpResponseMessage metrics = await server.Http.GetAsync("metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            text = await metrics.Content.ReadAsStringAsync();
        }
        Assert.True(Generated(text) >= 7, text);
        Assert.Contains("cria_tokens_prompt", text);
        Assert.Contains("cria_generations", text);
        Assert.Contains("cria_queue_depth", text);
        Assert.Contains("cria_models_loaded", text);
        Assert.Contains("http_server_request_duration", text);
        Assert.Contains("cria_time_to_first_token_seconds_bucket", text);
        Assert.Contains("cria_time_per_output_token_seconds_bucket", text);
        Assert.Contains("cria_kv_cache_usage", text);
        Assert.Contains("cria_decode_speed", text);
    }

    [Fact]
    public async Task A_request_that_waited_for_a_slot_shows_in_the_queue_wait_histogram()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 1, MaxQueue = 4, PieceDelay = TimeSpan.FromMilliseconds(5) });
        const string body = """{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":30,"temperature":0}""";
        Task<HttpResponseMessage> first = server.PostJsonAsync("v1/chat/completions", body);
        Task<HttpResponseMessage> second = server.PostJsonAsync("v1/chat/completions", body);
        using (HttpResponseMessage a = await first)
        using (HttpResponseMessage b = await second)
        {
            Assert.Equal(HttpStatusCode.OK, a.StatusCode);
            Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        }
        string text = "";
        for (int i = 0; i < 40 && !text.Contains("cria_queue_wait_seconds_count", StringComparison.Ordinal); i++)
        {
            await Task.Delay(i == 0 ? 0 : 250);
            using HttpResponseMessage metrics = await server.Http.GetAsync("metrics");
            text = await metrics.Content.ReadAsStringAsync();
        }
        Assert.Contains("cria_queue_wait_seconds_count", text, StringComparison.Ordinal);
    }

    private static double Generated(string text)
    {
        string? line = text.Split('\n').FirstOrDefault(l => l.StartsWith("cria_tokens_generated", StringComparison.Ordinal));
        return line is null ? -1 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
