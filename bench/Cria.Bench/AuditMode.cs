using System.Diagnostics;
using System.Globalization;

using Cria.Server;
using Cria.Server.Audit;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Cria.Bench;

/// <summary>
/// audit --model F [--records 20000] [--requests 4000] [--clients 8]
/// <para>
/// What the audit log costs. The store alone: records appended per second in the writer's batches of
/// 512 (one transaction each, synchronous=FULL), and records verified per second. The server: the
/// same --requests GET /health from --clients concurrent clients with the audit log off and on,
/// requests/s and latency p50/p99 — the cheapest route, so the log's share is the largest it can be.
/// </para>
/// </summary>
internal static class AuditMode
{
    private const int Batch = 512;

    public static int Run(Options o)
    {
        string model = o.Required("model");
        int records = o.Int("records", 20000);
        int requests = o.Int("requests", 4000);
        int clients = o.Int("clients", 8);
        o.ThrowIfUnused();
        string dir = Directory.CreateTempSubdirectory("cria-audit-bench-").FullName;
        try
        {
            return RunAsync(dir, model, records, requests, clients).GetAwaiter().GetResult();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<int> RunAsync(string dir, string model, int records, int requests, int clients)
    {
        AuditOptions audit = AuditOptions.Under(dir);
        byte[] key = AuditKey.LoadOrCreate(audit.KeyPath);
        double appendRate, verifyRate;
        using (AuditStore store = AuditStore.Open(Path.Combine(dir, "store.db"), key, create: true))
        {
            var clock = Stopwatch.StartNew();
            for (int done = 0; done < records; done += Batch)
            {
                store.Append([.. Enumerable.Range(done, Math.Min(Batch, records - done)).Select(Sample)]);
            }
            appendRate = records / clock.Elapsed.TotalSeconds;
            clock.Restart();
            AuditVerification result = AuditVerifier.Verify(store, key);
            verifyRate = result.Records / clock.Elapsed.TotalSeconds;
            if (!result.Intact)
            {
                throw new InvalidOperationException(result.Problem);
            }
        }
        Console.WriteLine($"| store | {records} records |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| append (batches of {Batch}) | {appendRate:F0} records/s |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| verify | {verifyRate:F0} records/s |"));
        Console.WriteLine();

        (double offRate, double offP50, double offP99) = await ServeAsync(new ServerOptions { ModelPaths = [model] }, requests, clients);
        (double onRate, double onP50, double onP99) = await ServeAsync(new ServerOptions { ModelPaths = [model], Audit = audit }, requests, clients);
        Console.WriteLine($"| GET /health, {clients} clients, {requests} requests | req/s | p50 ms | p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| audit off | {offRate:F0} | {offP50:F2} | {offP99:F2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| audit on | {onRate:F0} | {onP50:F2} | {onP99:F2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT mode=audit append_per_s={appendRate:F0} verify_per_s={verifyRate:F0} health_off_rps={offRate:F0} health_on_rps={onRate:F0} health_on_vs_off={onRate / offRate:F3}"));
        return 0;
    }

    private static async Task<(double Rate, double P50, double P99)> ServeAsync(ServerOptions options, int requests, int clients)
    {
        WebApplication app = CriaServer.Build(options with { Host = "127.0.0.1", Port = 0 }, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single().TrimEnd('/') + "/") };
            for (int i = 0; i < 200; i++)
            {
                (await http.GetAsync("health")).Dispose(); // warm-up: JIT, connections
            }
            var latencies = new double[requests];
            int next = -1;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests)
                {
                    long start = Stopwatch.GetTimestamp();
                    using HttpResponseMessage response = await http.GetAsync("health");
                    response.EnsureSuccessStatusCode();
                    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            })));
            double rate = requests / clock.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            return (rate, latencies[requests / 2], latencies[(int)(requests * 0.99)]);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static AuditRecord Sample(int i) => new()
    {
        TimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        Key = "bench",
        Method = "POST",
        Route = "/v1/chat/completions",
        Status = 200,
        Model = "stories260K",
        PromptTokens = 100 + i % 50,
        CompletionTokens = 64,
        LatencyMicroseconds = 250_000 + i,
        FinishReason = "stop",
        PromptSha256 = AuditChain.Sha256($"prompt {i}"),
        OutputSha256 = AuditChain.Sha256($"output {i}"),
    };
}
