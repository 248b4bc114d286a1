using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

using Cria.Server.Auth;
using Cria.Tests.Logging;

using Microsoft.Extensions.Logging;

namespace Cria.Server.Tests;

/// <summary>
/// Keys never reach the logs, the error bodies or <c>/metrics</c> (SECURITY.md §3, §5): a server with
/// real keys, every log category captured at Trace, and requests authorized, unauthorized and failing
/// (a wrong key, a key in the query string, a bad body, an unknown model, a stream cut short).
/// </summary>
public sealed class SecretLoggingTests
{
    [Fact]
    public async Task No_key_appears_in_logs_error_bodies_or_metrics()
    {
        string home = Directory.CreateTempSubdirectory("cria-secrets-").FullName;
        using var logs = new TraceLoggerProvider();
        try
        {
            var store = new KeyStore(home);
            (ApiKey limitedKey, string limited) = store.Create("limited", requestsPerMinute: 3, models: ["stories260K"]);
            (_, string plain) = store.Create("plain");
            string wrong = KeyStore.SecretPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { RequireKey = true, DataDirectory = home }, builder =>
            {
                builder.SetMinimumLevel(LogLevel.Trace);
                builder.AddFilter("Microsoft", LogLevel.Trace);
                builder.AddFilter("Microsoft.AspNetCore", LogLevel.Trace);
                builder.AddProvider(logs);
            });
            var seen = new StringBuilder();
            async Task Send(HttpMethod method, string path, string? key, string? json = null)
            {
                using var request = new HttpRequestMessage(method, path);
                if (key is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                }
                if (json is not null)
                {
                    request.Content = new StringContent(json, Encoding.UTF8, "application/json");
                }
                using HttpResponseMessage response = await server.Http.SendAsync(request);
                seen.Append(response.Headers).Append(await response.Content.ReadAsStringAsync()).Append('\n');
            }
            const string chat = """{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":3}""";
            foreach (string key in new[] { limited, plain })
            {
                await Send(HttpMethod.Get, "v1/models", key);
                await Send(HttpMethod.Post, "v1/chat/completions", key, chat);
                await Send(HttpMethod.Post, "api/generate", key, """{"model":"stories260K","prompt":"Once","stream":false,"options":{"num_predict":2}}""");
                await Send(HttpMethod.Post, "v1/chat/completions", key, """{"model":"stories260K","messages":[""");
                await Send(HttpMethod.Post, "v1/chat/completions", key, """{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}""");
                await Send(HttpMethod.Post, "api/chat", key, "{\"model\":\"stories260K\",\"messages\":" + new string('[', 500) + "}");
                await Send(HttpMethod.Get, $"v1/models?api_key={key}&key={key}", null);
                await Send(HttpMethod.Get, "api/tags", "x" + key);
            }
            // Over the limited key's quota (429), then a wrong key, a key in the wrong scheme, and an over-long one.
            for (int i = 0; i < 3; i++)
            {
                await Send(HttpMethod.Get, "api/tags", limited);
            }
            await Send(HttpMethod.Get, "v1/models", wrong);
            await Send(HttpMethod.Post, "v1/completions", wrong, """{"model":"stories260K","prompt":"Once"}""");
            using (var basic = new HttpRequestMessage(HttpMethod.Get, "v1/models"))
            {
                basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + plain)));
                basic.Headers.Add("X-Api-Key", plain);
                using HttpResponseMessage response = await server.Http.SendAsync(basic);
                seen.Append(await response.Content.ReadAsStringAsync());
            }
            await Send(HttpMethod.Get, "v1/models", plain + new string('a', 300));
            using (var metrics = new HttpRequestMessage(HttpMethod.Get, "metrics"))
            {
                metrics.Headers.Authorization = new AuthenticationHeaderValue("Bearer", plain);
                using HttpResponseMessage response = await server.Http.SendAsync(metrics);
                response.EnsureSuccessStatusCode();
                seen.Append(await response.Content.ReadAsStringAsync());
            }

            IReadOnlyList<string> lines = logs.Lines;
            Assert.True(lines.Count > 50, $"only {lines.Count} log lines were captured");
            Assert.Contains(lines, l => l.Contains("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("key=limited", StringComparison.Ordinal)); // the request log names keys by name
            string everything = string.Join('\n', lines) + '\n' + seen;
            foreach (string secret in new[] { limited, plain, wrong })
            {
                // The prefix `cria keys list` shows (cria- and 6 hex digits) may appear; one character more may not, nor any tail of the secret.
                string beyondShown = secret[..(limitedKey.Prefix.Length + 1)];
                Assert.DoesNotContain(beyondShown, everything, StringComparison.Ordinal);
                Assert.DoesNotContain(secret[^16..], everything, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
