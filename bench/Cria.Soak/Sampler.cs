using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace Cria.Soak;

/// <summary>One sample of the server process and of what the clients saw so far.</summary>
internal sealed record Sample(
    double Seconds,
    double RssMiB,
    double GcHeapMiB,
    double GcCommittedMiB,
    int Handles,
    int Threads,
    double PoolThreads,
    double Gen0,
    double Gen1,
    double Gen2,
    double AllocatedMiB,
    double JitMethods,
    long Requests,
    long Status2xx,
    long Status4xx,
    long Status5xx,
    long Dropped,
    long Cancelled,
    long Failures,
    double Server5xx)
{
    public const string CsvHeader =
        "seconds,rss_mib,gc_heap_mib,gc_committed_mib,handles,threads,threadpool_threads,gen0_collections,gen1_collections,gen2_collections,"
        + "allocated_mib,jit_compiled_methods,requests,status_2xx,status_4xx,status_5xx,dropped_streams,cancelled_streams,other_failures,server_5xx";

    public string ToCsv() => string.Create(CultureInfo.InvariantCulture,
        $"{Seconds:F1},{RssMiB:F2},{GcHeapMiB:F2},{GcCommittedMiB:F2},{Handles},{Threads},{PoolThreads},{Gen0},{Gen1},{Gen2},"
        + $"{AllocatedMiB:F1},{JitMethods},{Requests},{Status2xx},{Status4xx},{Status5xx},{Dropped},{Cancelled},{Failures},{Server5xx}");
}

/// <summary>
/// Takes samples of the server: RSS and threads from <c>/proc/PID/status</c>, open handles by counting
/// <c>/proc/PID/fd</c>, and the runtime's own view from the <c>System.Runtime</c> meter on <c>/metrics</c>:
/// the GC heap after the last collection (all generations), the memory the GC had committed then,
/// collections per generation, bytes allocated, thread-pool threads, methods JIT-compiled (tiering goes on for minutes); and ASP.NET Core's count of 5xx answers.
/// </summary>
internal sealed class Sampler(HttpClient http, string key, int pid, Tally tally)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public double Elapsed => _clock.Elapsed.TotalSeconds;

    /// <summary>
    /// Scrapes /metrics every 250 ms until <paramref name="until"/> (the end of the warm-up), throwing the answers away.
    /// The server tiers a method up after 30 calls, and with TieredPGO again after 30 more: at one scrape per 5 s the
    /// scrape path itself would be recompiled at 150 s and 300 s (~250 methods each, and the JIT's working memory
    /// shows in RSS). Scraped this often, it reaches its final tier inside the warm-up, and the measurement stops
    /// changing what it measures.
    /// </summary>
    public async Task WarmAsync(TimeSpan until)
    {
        while (_clock.Elapsed < until)
        {
            using var scrape = new HttpRequestMessage(HttpMethod.Get, new Uri("metrics", UriKind.Relative));
            scrape.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            try
            {
                using HttpResponseMessage response = await http.SendAsync(scrape);
                await response.Content.ReadAsStringAsync();
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                // A failed scrape here is only a missed warm-up call; the samples report failures.
            }
            await Task.Delay(250);
        }
    }

    public async Task<Sample> TakeAsync(CancellationToken cancel)
    {
        (double rssKiB, int threads) = Status(pid);
        int handles = Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        using var scrape = new HttpRequestMessage(HttpMethod.Get, new Uri("metrics", UriKind.Relative));
        scrape.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using HttpResponseMessage response = await http.SendAsync(scrape, cancel);
        response.EnsureSuccessStatusCode();
        var m = Prometheus.Parse(await response.Content.ReadAsStringAsync(cancel));
        const string runtime = "System.Runtime";
        return new Sample(
            Math.Round(Elapsed, 1),
            rssKiB / 1024,
            m.Sum("dotnet_gc_last_collection_heap_size_bytes", runtime) / (1 << 20),
            m.Sum("dotnet_gc_last_collection_memory_committed_size_bytes", runtime) / (1 << 20),
            handles,
            threads,
            // a counter in .NET 10's System.Diagnostics.DiagnosticSource, a gauge (no _total) from version 11
            m.Sum("dotnet_thread_pool_thread_count_total", runtime) + m.Sum("dotnet_thread_pool_thread_count", runtime),
            m.Sum("dotnet_gc_collections_total", runtime, ("gc_heap_generation", "gen0")),
            m.Sum("dotnet_gc_collections_total", runtime, ("gc_heap_generation", "gen1")),
            m.Sum("dotnet_gc_collections_total", runtime, ("gc_heap_generation", "gen2")),
            m.Sum("dotnet_gc_heap_total_allocated_bytes_total", runtime) / (1 << 20),
            m.Sum("dotnet_jit_compiled_methods_total", runtime),
            tally.Requests,
            tally.Status2xx,
            tally.Status4xx,
            tally.Status5xx,
            tally.Dropped,
            tally.Cancelled,
            tally.TimedOut + tally.TransportErrors + tally.Unexpected + tally.EngineErrors + tally.StatusOther,
            m.Sum("http_server_request_duration_seconds_count", null, ("http_response_status_code", "5")));
    }

    /// <summary>VmRSS (KiB) and Threads from /proc/PID/status.</summary>
    private static (double RssKiB, int Threads) Status(int pid)
    {
        double rss = double.NaN;
        int threads = -1;
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line[8..].Trim(), CultureInfo.InvariantCulture);
            }
        }
        return double.IsNaN(rss) || threads < 0 ? throw new InvalidDataException($"/proc/{pid}/status has no VmRSS or Threads line") : (rss, threads);
    }
}
