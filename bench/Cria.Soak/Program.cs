using System.Globalization;
using System.Text;

using Cria.Soak;

// bench/soak: `cria serve` under a steady mix of good, cancelled and malformed requests for a set time, its
// resources sampled every few seconds; exit 0 when they stayed flat and nothing failed, 1 naming what failed.
SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"soak: {e.Message}\n{SoakOptions.Usage}");
    return 2;
}

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
Console.WriteLine($"soak: {options.Seconds} s, {options.Clients} clients, cria serve --parallel {options.Parallel}, a sample every {options.Interval} s, "
    + $"warm-up {options.Warmup:P0}, seed {options.Seed}");
await using ServerProcess server = await ServerProcess.StartAsync(options);
Console.WriteLine($"soak: cria serve pid {server.Pid} on {server.BaseAddress} (log: {server.LogPath})");

// A large body waits for "100 Continue" (Workload): up to 30 s, not the default 1 s, so that on a loaded machine the
// server's 413 still comes before the body and a refused upload is not mistaken for a broken connection.
using var http = new HttpClient(new SocketsHttpHandler
{
    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    MaxConnectionsPerServer = 256,
    Expect100ContinueTimeout = TimeSpan.FromSeconds(30),
})
{
    BaseAddress = server.BaseAddress,
    Timeout = Timeout.InfiniteTimeSpan,
};
using var scrapeHttp = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
var tally = new Tally();
var workload = new Workload(http, server.Key, tally, options.Seed);
var sampler = new Sampler(scrapeHttp, server.Key, server.Pid, tally);
var samples = new List<Sample>();
string? csvFolder = Path.GetDirectoryName(Path.GetFullPath(options.Csv));
Directory.CreateDirectory(csvFolder!);
using var csv = new StreamWriter(options.Csv, append: false, new UTF8Encoding(false)) { AutoFlush = true };
await csv.WriteLineAsync(Sample.CsvHeader);

DateTimeOffset deadline = DateTimeOffset.UtcNow.AddSeconds(options.Seconds);
Task[] clients = [.. Enumerable.Range(0, options.Clients).Select(i => Task.Run(() => workload.RunClientAsync(i, deadline)))];
Task warming = sampler.WarmAsync(TimeSpan.FromSeconds(options.Seconds * options.Warmup));
var scrapeFailures = new List<string>();
bool serverDied = false;
for (int tick = 0; ; tick++)
{
    if (await TakeAsync() is { } s && tick % Math.Max(1, 30 / options.Interval) == 0)
    {
        Console.WriteLine($"  t={s.Seconds,6:F0}s  rss {s.RssMiB,7:F1} MiB  gc heap {s.GcHeapMiB,6:F1} MiB  threads {s.Threads,3}  handles {s.Handles,4}  "
            + $"requests {s.Requests,7}  5xx {s.Status5xx}  dropped {s.Dropped}  cancelled {s.Cancelled}  other failures {s.Failures}");
    }
    if (server.HasExited)
    {
        serverDied = true;
        break;
    }
    double next = (tick + 1) * options.Interval;
    if (next > options.Seconds)
    {
        break;
    }
    TimeSpan wait = TimeSpan.FromSeconds(next - sampler.Elapsed);
    if (wait > TimeSpan.Zero)
    {
        await Task.Delay(wait);
    }
}

// Requests in flight at the deadline finish on their own (each within its 120 s timeout); then a last sample.
Task all = Task.WhenAll([.. clients, warming]);
if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(150))) != all)
{
    scrapeFailures.Add("the clients did not finish within 150 s of the deadline");
}
await TakeAsync();
int? exit = await server.StopAsync();
int criticals = server.LogCount("crit:") + server.LogCount("Unhandled exception");
int errors = server.LogCount("fail:");
int warnings = server.LogCount("warn:");

IReadOnlyList<Growth> growths = Verdict.Growths(samples, options.Seconds, options.Warmup);
List<string> failures = Verdict.Failures(growths, tally, serverDied);
failures.AddRange(scrapeFailures);
if (criticals > 0)
{
    failures.Add($"the server logged {criticals} critical errors or unhandled exceptions");
}
if (exit is not 0)
{
    failures.Add(exit is null ? "the server did not stop within 15 s of SIGTERM" : $"the server exited with {exit} on SIGTERM");
}

string verdict = failures.Count == 0 ? "PASS" : "FAIL";
string title = string.Create(CultureInfo.InvariantCulture,
    $"cria serve soak: {options.Seconds} s, {options.Clients} clients, --parallel {options.Parallel}, {tally.Requests:N0} requests, {tally.Status5xx} 5xx, {tally.Dropped} dropped: {verdict}");
Plot.Write(options.Png, samples, growths, options.Seconds, options.Warmup, title);
Report();
return failures.Count == 0 ? 0 : 1;

async Task<Sample?> TakeAsync()
{
    try
    {
        Sample s = await sampler.TakeAsync(CancellationToken.None);
        samples.Add(s);
        await csv.WriteLineAsync(s.ToCsv());
        return s;
    }
    catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or InvalidDataException or UnauthorizedAccessException)
    {
        if (!server.HasExited)
        {
            scrapeFailures.Add($"a sample at {sampler.Elapsed:F0} s failed: {e.Message}");
        }
        return null;
    }
}

void Report()
{
    (double warmupEnd, double window) = Verdict.Windows(options.Seconds, options.Warmup);
    Console.WriteLine();
    Console.WriteLine($"requests by kind ({tally.Requests:N0} in all, {tally.Requests / (double)options.Seconds:F1}/s):");
    foreach ((string kind, long n) in tally.ByKind.OrderBy(k => k.Key, StringComparer.Ordinal))
    {
        Console.WriteLine($"  {kind,-26} {n,8:N0}");
    }
    Console.WriteLine($"answers: {tally.Status2xx:N0} 2xx, {tally.Status4xx:N0} 4xx, {tally.Status5xx} 5xx (the server's own count: {samples[^1].Server5xx}); "
        + $"streams: {tally.StreamsCompleted:N0} complete, {tally.Cancelled:N0} cancelled by their client, {tally.Dropped} dropped");
    Console.WriteLine($"timeouts {tally.TimedOut}, transport errors {tally.TransportErrors}, engine errors {tally.EngineErrors}, wrong answers {tally.Unexpected}; "
        + $"server log: {criticals} critical, {errors} errors, {warnings} warnings; SIGTERM exit {(exit is null ? "none (killed)" : exit.ToString())}");
    Console.WriteLine();
    Console.WriteLine($"| resource | median {warmupEnd:F0}–{warmupEnd + window:F0} s | median last {window:F0} s | growth | limit |");
    Console.WriteLine("|---|---:|---:|---:|---|");
    foreach (Growth g in growths)
    {
        Console.WriteLine($"| {g.Name}{(g.Unit.Length > 0 ? $" ({g.Unit})" : "")} | {g.Baseline:F1} | {g.Final:F1} | {g.Percent:+0.00;-0.00;0.00}% | {(g.Ok ? "< 5%: ok" : "**over 5%**")} |");
    }
    Sample last = samples[^1];
    Console.WriteLine($"GC: {last.Gen0} gen0, {last.Gen1} gen1, {last.Gen2} gen2 collections, {last.AllocatedMiB:N0} MiB allocated; {last.JitMethods:N0} methods JIT-compiled; "
        + $"threads at the end: {last.Threads} = {last.PoolThreads} thread-pool workers + {last.Threads - last.PoolThreads} others");
    foreach (string example in tally.Examples)
    {
        Console.WriteLine($"  {example}");
    }
    Console.WriteLine($"wrote {options.Csv} ({samples.Count} samples) and {options.Png}");
    foreach (string f in failures)
    {
        Console.WriteLine($"FAILED: {f}");
    }
    if (failures.Count > 0)
    {
        Console.WriteLine($"the server log's last lines ({server.LogPath}):\n{server.LogTail(15)}");
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT soak seconds={options.Seconds} clients={options.Clients} requests={tally.Requests} status_5xx={tally.Status5xx} dropped={tally.Dropped} "
        + $"{string.Join(' ', growths.Select(g => $"{g.Name.Replace(' ', '_').ToLowerInvariant()}_growth_pct={g.Percent:F2}"))} verdict={verdict.ToLowerInvariant()}"));
}
