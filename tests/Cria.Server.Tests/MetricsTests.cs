using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Cria.Server.Tests;

/// <summary>
/// /metrics in Prometheus text format, fed by OpenTelemetry: Cria's own counters and ASP.NET Core's request
/// metrics. The exposition is parsed, and the values must be those of the requests the test made.
/// </summary>
/// <remarks>
/// These run alone (<see cref="MetricsCollection"/>): in one process, a server's exposition loses instruments
/// (down to <c>target_info</c> alone) once another server that started during its life is disposed and
/// collected, so servers of tests running beside these would empty their scrapes.
/// </remarks>
[Collection(nameof(MetricsCollection))]
public sealed class MetricsTests
{
    private const string Scope = "Cria.Server";
    private const string RuntimeScope = "System.Runtime";

    [Fact]
    public async Task Metrics_report_tokens_generations_and_http_requests()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        var clock = Stopwatch.StartNew();

        // Three generations on a fresh server, each reporting its usage: an Ollama one first (nothing cached
        // yet), then the same chat twice (the second finds the first's prompt in the cache).
        int prompt = 0, generated = 0, cached = 0;
        using (HttpResponseMessage ollama = await server.PostJsonAsync("api/generate",
            """{"model":"stories260K","prompt":"Once upon a time","stream":false,"options":{"num_predict":5,"temperature":0}}"""))
        {
            Assert.Equal(HttpStatusCode.OK, ollama.StatusCode);
            JsonElement body = await RunningServer.JsonAsync(ollama);
            prompt += body.GetProperty("prompt_eval_count").GetInt32();
            generated += body.GetProperty("eval_count").GetInt32();
        }
        foreach (int maxTokens in (int[])[7, 4])
        {
            using HttpResponseMessage chat = await server.PostJsonAsync("v1/chat/completions",
                $$"""{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":{{maxTokens}},"temperature":0}""");
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
            JsonElement usage = (await RunningServer.JsonAsync(chat)).GetProperty("usage");
            Assert.Equal(maxTokens, usage.GetProperty("completion_tokens").GetInt32());
            prompt += usage.GetProperty("prompt_tokens").GetInt32();
            generated += usage.GetProperty("completion_tokens").GetInt32();
            cached += usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        Assert.Equal(5 + 7 + 4, generated);
        Assert.True(cached > 0, "the repeated chat found nothing in the prefix cache");
        const int generations = 3;

        // The counters are updated as each generation's thread finishes, and the exporter caches a scrape
        // briefly: read until they show all three requests (at most ~10 s), then check every value.
        Exposition m = await ScrapeUntilAsync(server, m => m.Find("cria_generations_total") == generations
            && m.Find("cria_tokens_prompt_total") == prompt && m.Find("cria_tokens_generated_total") == generated
            && m.Count("cria_time_per_output_token_seconds") == generations && m.Find("cria_generations_active") == 0
            && m.Find("cria_kv_cache_tokens") == 0 && m.Count("http_server_request_duration_seconds", ("http_route", "/v1/chat/completions")) == 2);

        Assert.Equal("counter", m.Type("cria_generations_total"));
        Assert.Equal(generations, m.Value("cria_generations_total"));
        Assert.Equal(0, m.Value("cria_generations_cancelled_total"));
        Assert.Equal(prompt, m.Value("cria_tokens_prompt_total"));
        Assert.Equal(generated, m.Value("cria_tokens_generated_total"));
        Assert.Equal(cached, m.Value("cria_tokens_prompt_cached_total"));
        Assert.Equal((double)cached / prompt, m.Value("cria_prefix_cache_hit_rate"), 12);

        // Nothing runs or waits now; one model is loaded and its KV cache holds no running sequence.
        Assert.Equal("gauge", m.Type("cria_generations_active"));
        Assert.Equal(0, m.Value("cria_generations_active"));
        Assert.Equal(0, m.Value("cria_queue_depth"));
        Assert.Equal(1, m.Value("cria_models_loaded"));
        Assert.Equal(0, m.Value("cria_kv_cache_tokens"));
        Assert.Equal(0, m.Value("cria_kv_cache_usage"));
        Assert.Equal(0, m.Value("cria_preemptions"));

        // One observation per generation in each latency histogram (every one wrote more than one token).
        foreach (string histogram in (string[])["cria_time_to_first_token_seconds", "cria_time_per_output_token_seconds", "cria_decode_speed_per_second"])
        {
            Assert.Equal("histogram", m.Type(histogram));
            Assert.Equal(generations, m.Count(histogram));
            m.CheckBuckets(histogram);
            Assert.True(m.Sum(histogram) > 0, histogram);
        }
        // All three prompts are short: one series, labelled so.
        Assert.Equal(generations, m.Count("cria_time_to_first_token_seconds", ("prompt_tokens_bucket", "128")));
        // A first token comes within its request, and the requests took `elapsed` together.
        Assert.InRange(m.Sum("cria_time_to_first_token_seconds"), 0, elapsed);

        // ASP.NET Core's request metrics, by route and status.
        Assert.Equal("histogram", m.Type("http_server_request_duration_seconds"));
        Assert.Equal(2, m.Count("http_server_request_duration_seconds", ("http_route", "/v1/chat/completions"), ("http_response_status_code", "200")));
        Assert.Equal(1, m.Count("http_server_request_duration_seconds", ("http_route", "/api/generate"), ("http_response_status_code", "200")));
        m.CheckBuckets("http_server_request_duration_seconds");
        Assert.InRange(m.Sum("http_server_request_duration_seconds", ("http_route", "/v1/chat/completions")) + m.Sum("http_server_request_duration_seconds", ("http_route", "/api/generate")), 0, elapsed);
    }

    [Fact]
    public async Task A_request_that_waited_for_a_slot_shows_in_the_queue_wait_histogram()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 1, MaxQueue = 4, PieceDelay = TimeSpan.FromMilliseconds(5) });
        const string body = """{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":30,"temperature":0}""";
        var clock = Stopwatch.StartNew();
        Task<HttpResponseMessage> first = server.PostJsonAsync("v1/chat/completions", body);
        Task<HttpResponseMessage> second = server.PostJsonAsync("v1/chat/completions", body);
        using (HttpResponseMessage a = await first)
        using (HttpResponseMessage b = await second)
        {
            Assert.Equal(HttpStatusCode.OK, a.StatusCode);
            Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        }
        double elapsed = clock.Elapsed.TotalSeconds;

        // One slot, two requests at once: the one admitted first is not counted, the other waited while the
        // first ran (30 tokens at ≥ 5 ms each).
        Exposition m = await ScrapeUntilAsync(server, m => m.Count("cria_queue_wait_seconds") > 0 && m.Find("cria_generations_total") == 2);
        Assert.Equal("histogram", m.Type("cria_queue_wait_seconds"));
        Assert.Equal(1, m.Count("cria_queue_wait_seconds"));
        m.CheckBuckets("cria_queue_wait_seconds");
        double waited = m.Sum("cria_queue_wait_seconds");
        Assert.True(waited > 0 && waited <= elapsed, $"waited {waited} s of the {elapsed} s both requests took");
        Assert.Equal(0, m.Value("cria_queue_depth"));
    }

    [Fact]
    public async Task Metrics_carry_the_runtime_meter_gc_heap_collections_and_threads()
    {
        await using RunningServer server = await RunningServer.StartAsync();

        // A collection now, so the "heap size at the last collection" gauges have a value whatever the GC did so far.
        GC.Collect();
        // The thread-pool gauge is observed at the scrape: the first one may be served before the pool has
        // started a worker (Kestrel's socket threads run it), so wait for one as for the GC figures.
        Exposition m = await ScrapeUntilAsync(server, m => m.Total("dotnet_gc_last_collection_heap_size_bytes", RuntimeScope) > 0
            && m.Total("dotnet_gc_collections_total", RuntimeScope) > 0
            && PoolThreads(m) >= 1);

        Assert.Equal("gauge", m.Type("dotnet_gc_last_collection_heap_size_bytes"));
        foreach (string generation in (string[])["gen0", "gen1", "gen2", "loh", "poh"])
        {
            Assert.Equal(1, m.Series("dotnet_gc_last_collection_heap_size_bytes", RuntimeScope, ("gc_heap_generation", generation)));
        }
        // The heap after a collection holds at least the server's own objects, and less than the whole process.
        double heap = m.Total("dotnet_gc_last_collection_heap_size_bytes", RuntimeScope);
        Assert.InRange(heap, 64 * 1024, Environment.WorkingSet);
        Assert.Equal("counter", m.Type("dotnet_gc_collections_total"));
        Assert.True(m.Total("dotnet_gc_collections_total", RuntimeScope, ("gc_heap_generation", "gen2")) >= 1, "the forced collection is not counted in gen2");
        Assert.True(m.Total("dotnet_gc_heap_total_allocated_bytes_total", RuntimeScope) >= heap, "less allocated than the heap holds");
        Assert.True(PoolThreads(m) >= 1, "no thread-pool thread in 10 s of scrapes: " + m.Lines("thread_pool"));
    }

    /// <summary>
    /// Thread-pool threads: .NET 10's System.Diagnostics.DiagnosticSource reports them as a counter (exported with
    /// _total), version 11 (which this test project gets through Microsoft.Extensions.AI) as an up-down counter (a
    /// gauge); whichever the process has, there is one series.
    /// </summary>
    private static double PoolThreads(Exposition m) =>
        m.Total("dotnet_thread_pool_thread_count_total", RuntimeScope) + m.Total("dotnet_thread_pool_thread_count", RuntimeScope);

    /// <summary>Scrapes /metrics until <paramref name="ready"/> holds (at most ~10 s) and returns the last scrape.</summary>
    private static async Task<Exposition> ScrapeUntilAsync(RunningServer server, Func<Exposition, bool> ready)
    {
        Exposition m = null!;
        for (int i = 0; i < 40; i++)
        {
            if (i > 0)
            {
                await Task.Delay(250);
            }
            using HttpResponseMessage metrics = await server.Http.GetAsync("metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            m = Exposition.Parse(await metrics.Content.ReadAsStringAsync());
            if (ready(m))
            {
                break;
            }
        }
        return m;
    }

    /// <summary>One sample line: metric name, labels, value.</summary>
    private sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);

    /// <summary>
    /// The Prometheus text exposition format (version 0.0.4), parsed: <c># TYPE</c> lines and samples
    /// <c>name{label="value",...} value [timestamp]</c>, label values with their <c>\\ \" \n</c> escapes.
    /// A line that is neither is an error, not skipped.
    /// </summary>
    private sealed class Exposition
    {
        private readonly List<Sample> _samples = [];
        private readonly Dictionary<string, string> _types = [];
        private string _text = "";

        public static Exposition Parse(string text)
        {
            var e = new Exposition { _text = text };
            foreach (string raw in text.Split('\n'))
            {
                string line = raw.TrimEnd('\r');
                if (line.Length == 0)
                {
                    continue;
                }
                if (line.StartsWith('#'))
                {
                    string[] parts = line.Split(' ', 4);
                    if (parts.Length == 4 && parts[1] == "TYPE")
                    {
                        e._types[parts[2]] = parts[3];
                    }
                    continue;
                }
                e._samples.Add(ParseSample(line));
            }
            return e;
        }

        private static Sample ParseSample(string line)
        {
            int i = 0;
            while (i < line.Length && line[i] is not ('{' or ' '))
            {
                i++;
            }
            string name = line[..i];
            var labels = new Dictionary<string, string>();
            if (i < line.Length && line[i] == '{')
            {
                i++;
                while (line[i] != '}')
                {
                    int eq = line.IndexOf('=', i);
                    string key = line[i..eq];
                    Assert.True(line[eq + 1] == '"', $"label {key} is not quoted: {line}");
                    var value = new StringBuilder();
                    int j = eq + 2;
                    for (; line[j] != '"'; j++)
                    {
                        if (line[j] == '\\')
                        {
                            j++;
                            value.Append(line[j] switch
                            {
                                'n' => '\n',
                                '\\' => '\\',
                                '"' => '"',
                                var other => throw new FormatException($"escape \\{other} in {line}"),
                            });
                        }
                        else
                        {
                            value.Append(line[j]);
                        }
                    }
                    labels.Add(key, value.ToString());
                    i = j + 1;
                    if (line[i] == ',')
                    {
                        i++;
                    }
                }
                i++;
            }
            string[] rest = line[i..].Trim().Split(' ');
            Assert.True(rest.Length is 1 or 2, $"not a sample line: {line}");
            double v = rest[0] switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            return new Sample(name, labels, v);
        }

        public string Type(string family) =>
            _types.TryGetValue(family, out string? type) ? type : throw new Xunit.Sdk.XunitException($"no # TYPE line for {family} in\n{_text}");

        /// <summary>The value of the one series of <paramref name="name"/> that Cria's meter reports.</summary>
        public double Value(string name) =>
            Find(name) ?? throw new Xunit.Sdk.XunitException($"{_samples.Count(s => s.Name == name)} series of {name} from {Scope}, wanted one, in\n{_text}");

        /// <summary>Like <see cref="Value"/>, null when there is not exactly one series.</summary>
        public double? Find(string name)
        {
            Sample[] series = [.. _samples.Where(s => s.Name == name)];
            return series.Length == 1 && series[0].Labels.GetValueOrDefault("otel_scope_name") == Scope ? series[0].Value : null;
        }

        /// <summary>A histogram's observations over all its series that carry <paramref name="labels"/>; 0 when it has none.</summary>
        public double Count(string histogram, params (string Key, string Value)[] labels) => Total(histogram + "_count", labels);

        public double Sum(string histogram, params (string Key, string Value)[] labels) => Total(histogram + "_sum", labels);

        /// <summary>Each series' buckets are cumulative, and its +Inf bucket holds all its observations.</summary>
        public void CheckBuckets(string histogram)
        {
            foreach (Sample count in _samples.Where(s => s.Name == histogram + "_count"))
            {
                double previous = 0;
                int buckets = 0;
                foreach (Sample bucket in _samples.Where(s => s.Name == histogram + "_bucket" && SameSeries(s, count)))
                {
                    Assert.True(bucket.Value >= previous, $"{histogram} bucket le={bucket.Labels["le"]} holds {bucket.Value}, less than the one below ({previous})");
                    previous = bucket.Value;
                    buckets++;
                    if (bucket.Labels["le"] == "+Inf")
                    {
                        Assert.Equal(count.Value, bucket.Value);
                    }
                }
                Assert.True(buckets > 1, $"{histogram} has {buckets} buckets");
            }
        }

        private static bool SameSeries(Sample bucket, Sample count) =>
            bucket.Labels.Count == count.Labels.Count + 1 && count.Labels.All(l => bucket.Labels.TryGetValue(l.Key, out string? v) && v == l.Value);

        private double Total(string name, (string Key, string Value)[] labels) =>
            _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out string? v) && v == l.Value)).Sum(s => s.Value);

        /// <summary>The sum of <paramref name="name"/> over the series the meter <paramref name="scope"/> reports with <paramref name="labels"/>.</summary>
        public double Total(string name, string scope, params (string Key, string Value)[] labels) => Total(name, [("otel_scope_name", scope), .. labels]);

        /// <summary>The exposition's lines that contain <paramref name="text"/>, for failure messages.</summary>
        public string Lines(string text) => string.Join('\n', _text.Split('\n').Where(l => l.Contains(text, StringComparison.Ordinal)));

        /// <summary>How many series of <paramref name="name"/> the meter <paramref name="scope"/> reports with <paramref name="labels"/>.</summary>
        public int Series(string name, string scope, params (string Key, string Value)[] labels) =>
            _samples.Count(s => s.Name == name && s.Labels.GetValueOrDefault("otel_scope_name") == scope
                && labels.All(l => s.Labels.TryGetValue(l.Key, out string? v) && v == l.Value));
    }
}

/// <summary>The metrics tests, run with no other test beside them (see <see cref="MetricsTests"/>).</summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;
