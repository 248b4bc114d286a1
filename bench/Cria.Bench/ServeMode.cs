using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

using Cria.Server;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Cria.Bench;

/// <summary>
/// serve --model F [--clients 1,4,8,16] [--gen 64] [--threads 2] [--prefix-tokens 1000] [--rounds 1]
/// <para>
/// Cria's server under concurrent load on loopback: for each client count, that many streaming
/// /v1/completions clients start together, each with its own short prompt and EOS banned (so every
/// one decodes exactly --gen tokens); reported are the aggregate decode rate (all generated tokens /
/// the round's wall time) and time to first token p50/p95. Then the prefix test: a ~1,000-token
/// shared system prompt sent cold and then again with a different question (warm), reporting both
/// times to first token and their ratio. The peer is the same server with one client (no llama.cpp
/// here: LLamaSharp has no server to compare with).
/// </para>
/// </summary>
internal static class ServeMode
{
    public static int Run(Options o)
    {
        string model = o.Required("model");
        int[] clients = (o.String("clients") ?? "1,4,8,16").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        int gen = o.Int("gen", 64);
        int threads = o.Int("threads", 2);
        int prefixTokens = o.Int("prefix-tokens", 1000);
        int rounds = o.Int("rounds", 1);
        o.ThrowIfUnused();
        return RunAsync(model, clients, gen, threads, prefixTokens, rounds).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(string model, int[] clients, int gen, int threads, int prefixTokens, int rounds)
    {
        int parallel = clients.Max();
        var options = new ServerOptions
        {
            ModelPaths = [$"m={model}"],
            Host = "127.0.0.1",
            Port = 0,
            Parallel = parallel,
            MaxQueue = 256,
            ContextLength = prefixTokens + gen + 256,
            Threads = threads,
        };
        WebApplication app = CriaServer.Build(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single().TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(10) };
            // Warm-up: load the model, run the JIT over every path once.
            await StreamAsync(http, "Warm up the engine", 8);

            Console.WriteLine($"model {Path.GetFileName(model)}, {threads} threads, --parallel {parallel}, {gen} tokens per client");
            Console.WriteLine("| clients | aggregate tok/s (wall) | aggregate decode tok/s | per-client decode tok/s | decode vs 1 client | TTFT p50 ms | TTFT p95 ms |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
            double single = 0;
            double ratio8 = double.NaN;
            foreach (int n in clients)
            {
                var rates = new List<double>();
                var decodeRates = new List<double>();
                var ttfts = new List<double>();
                for (int r = 0; r < rounds; r++)
                {
                    var clock = Stopwatch.StartNew();
                    Result[] results = await Task.WhenAll(Enumerable.Range(0, n).Select(i => StreamAsync(http, $"Client {i} round {r}: tell the story of number {i * 7 + r}", gen)));
                    double wall = clock.Elapsed.TotalSeconds;
                    rates.Add(results.Sum(x => x.Tokens) / wall);
                    // Decode proper: each client's tokens after its first, over the time since its first (the clients decode side by side).
                    decodeRates.Add(results.Sum(x => (x.Tokens - 1) / ((x.EndMs - x.TtftMs) / 1000)));
                    ttfts.AddRange(results.Select(x => x.TtftMs));
                }
                double rate = Median(rates);
                double decode = Median(decodeRates);
                if (n == clients[0])
                {
                    single = decode;
                }
                ttfts.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {n} | {rate:F1} | {decode:F1} | {decode / n:F1} | {decode / single:F2}× | {Percentile(ttfts, 0.5):F0} | {Percentile(ttfts, 0.95):F0} |"));
                if (n == 8)
                {
                    ratio8 = decode / single;
                }
            }

            // Prefix reuse: the same long system prompt, first cold, then with another question.
            string prefix = LongPrefix(prefixTokens);
            Result cold = await StreamAsync(http, prefix + "\nQuestion one: who was there?", 4);
            Result warm = await StreamAsync(http, prefix + "\nQuestion two: what happened next?", 4);
            Console.WriteLine();
            Console.WriteLine("| shared prefix | prompt tokens | TTFT cold ms | TTFT warm ms | speed-up |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| ~{prefixTokens} tokens | {warm.PromptTokens} | {cold.TtftMs:F0} | {warm.TtftMs:F0} | {cold.TtftMs / warm.TtftMs:F1}× |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT serve model={Path.GetFileName(model)} decode8_over_1={ratio8:F2} prefix_speedup={cold.TtftMs / warm.TtftMs:F1}"));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
        return 0;
    }

    private sealed record Result(int Tokens, double TtftMs, double EndMs, int PromptTokens);

    /// <summary>One streaming completion; EOS (id 2 in the Llama vocabularies) is banned so it runs to max_tokens.</summary>
    private static async Task<Result> StreamAsync(HttpClient http, string prompt, int maxTokens)
    {
        string body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = "m",
            ["prompt"] = prompt,
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
            ["stream"] = true,
            ["stream_options"] = new Dictionary<string, object> { ["include_usage"] = true },
            ["logit_bias"] = new Dictionary<string, int> { ["2"] = -100 },
        });
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        double ttft = -1;
        int tokens = 0;
        int promptTokens = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
            {
                continue;
            }
            using JsonDocument doc = JsonDocument.Parse(line[6..]);
            if (ttft < 0 && doc.RootElement.GetProperty("choices").GetArrayLength() > 0)
            {
                ttft = clock.Elapsed.TotalMilliseconds;
            }
            if (doc.RootElement.TryGetProperty("usage", out JsonElement usage) && usage.ValueKind == JsonValueKind.Object)
            {
                tokens = usage.GetProperty("completion_tokens").GetInt32();
                promptTokens = usage.GetProperty("prompt_tokens").GetInt32();
            }
        }
        return new Result(tokens, ttft, clock.Elapsed.TotalMilliseconds, promptTokens);
    }

    private static string LongPrefix(int tokens)
    {
        // About 1.3 tokens per word in a Llama vocabulary for plain English.
        string[] words = ["the", "little", "girl", "walked", "to", "a", "park", "where", "she", "saw", "big", "dog", "and", "red", "ball", "under", "tree"];
        var text = new StringBuilder("You are a helpful storyteller. Remember this background:");
        var rng = new Random(1);
        for (int i = 0; i < tokens * 10 / 13; i++)
        {
            text.Append(' ').Append(words[rng.Next(words.Length)]);
        }
        return text.ToString();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted[sorted.Count / 2];
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
