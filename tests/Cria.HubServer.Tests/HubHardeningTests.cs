using System.Net;
using System.Net.Http.Headers;
using System.Text;

using Cria.Hosting;
using Cria.Tests.Http;
using Cria.Tests.Logging;
using Cria.Tests.Tls;

using Microsoft.Extensions.Logging;

namespace Cria.HubServer.Tests;

/// <summary>
/// The hub's transport (SECURITY.md §3, §4): HTTPS from PEM files; tokens refused over plain HTTP
/// beyond loopback unless <c>--insecure</c>; the connection cap; tokens never in logs or error bodies.
/// </summary>
public sealed class HubHardeningTests : IDisposable
{
    private const string PullToken = "pull-token-abcdefghijklmnop";
    private readonly TestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    [Fact]
    public async Task Https_with_pem_files_serves_pulls_to_a_client_that_trusts_only_that_certificate()
    {
        _bed.CreateStories(_bed.A);
        using var cert = new TestCertificate(_bed.Root);
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A, [TestBed.PushToken], [PullToken],
            o => o with { Tls = new TlsFiles(cert.CertificatePath, cert.KeyPath) });
        Assert.Equal("https", hub.BaseAddress.Scheme);
        using var https = new HttpClient(cert.TrustingHandler()) { BaseAddress = hub.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        https.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PullToken);
        using HttpResponseMessage manifest = await https.GetAsync("v2/library/stories/manifests/latest");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        using var untrusting = new HttpClient { BaseAddress = hub.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync("v2/"));
    }

    [Theory]
    [InlineData("0.0.0.0", true, false, false, false)]
    [InlineData("0.0.0.0", false, true, false, false)]
    [InlineData("192.168.1.10", true, true, false, false)]
    [InlineData("0.0.0.0", true, false, true, true)]
    [InlineData("0.0.0.0", false, false, false, true)]
    [InlineData("127.0.0.1", true, true, false, true)]
    [InlineData("localhost", true, false, false, true)]
    [InlineData("::1", true, false, false, true)]
    public void Tokens_over_plain_http_beyond_loopback_need_insecure(string host, bool push, bool pull, bool tls, bool starts)
    {
        using var cert = new TestCertificate(_bed.Root);
        var options = new HubServerOptions
        {
            Home = _bed.A.Home,
            Host = host,
            Port = 0,
            PushTokens = push ? [TestBed.PushToken] : [],
            PullTokens = pull ? [PullToken] : [],
            Tls = tls ? new TlsFiles(cert.CertificatePath, cert.KeyPath) : null,
        };
        if (starts)
        {
            options.Validate();
            return;
        }
        ArgumentException e = Assert.Throws<ArgumentException>(() => CriaHub.Build(options));
        Assert.Contains("plain HTTP", e.Message, StringComparison.Ordinal);
        Assert.Contains("--insecure", e.Message, StringComparison.Ordinal);
        (options with { Insecure = true }).Validate();
    }

    [Fact]
    public async Task Connections_past_the_cap_are_closed_and_a_slow_header_is_cut_off()
    {
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A, configure: o => o with
        {
            Connections = new ConnectionLimits { MaxConnections = 1, RequestHeadersTimeout = TimeSpan.FromSeconds(2) },
        });
        TimeSpan timeout = TimeSpan.FromSeconds(10);
        using (RawHttp first = await RawHttp.ConnectAsync(hub.BaseAddress))
        {
            Assert.Equal(200, (await first.GetAsync("/v2/", timeout))?.Status);
            using (RawHttp second = await RawHttp.ConnectAsync(hub.BaseAddress))
            {
                Assert.Null(await second.GetAsync("/v2/", timeout));
            }
            Assert.Equal(200, (await first.GetAsync("/v2/", timeout))?.Status);
        }

        // A header sent a byte a second is cut off within the 2 s header timeout (and a heartbeat).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using RawHttp slow = await ConnectWhenFreeAsync(hub.BaseAddress, timeout);
        byte[] header = Encoding.ASCII.GetBytes("GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa");
        bool cut = false;
        for (int i = 0; i < header.Length && !cut; i++)
        {
            try
            {
                await slow.Stream.WriteAsync(header.AsMemory(i, 1));
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                byte[] buffer = new byte[1024];
                _ = await slow.Stream.ReadAsync(buffer, wait.Token);
                cut = true; // an answer (a 408) or the end of the connection
            }
            catch (OperationCanceledException)
            {
                // Nothing yet: the server is still waiting for the header.
            }
            catch (IOException)
            {
                cut = true;
            }
        }
        Assert.True(cut, "the slow header was never cut off");
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 9);
    }

    private static async Task<RawHttp> ConnectWhenFreeAsync(Uri server, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            RawHttp raw = await RawHttp.ConnectAsync(server);
            // A held slot frees a moment after its socket closes: probe until a request is answered, then use a fresh connection.
            if ((await raw.GetAsync("/v2/", timeout))?.Status == 200)
            {
                raw.Dispose();
                await Task.Delay(200);
                return await RawHttp.ConnectAsync(server);
            }
            raw.Dispose();
            Assert.True(clock.Elapsed < timeout, "the hub accepted no new connection");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task No_token_appears_in_logs_or_error_bodies()
    {
        _bed.CreateStories(_bed.A);
        using var logs = new TraceLoggerProvider();
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A, [TestBed.PushToken], [PullToken], logging: b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            b.AddFilter("Microsoft", LogLevel.Trace);
            b.AddFilter("Microsoft.AspNetCore", LogLevel.Trace);
            b.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Trace);
            b.AddProvider(logs);
        });
        var seen = new StringBuilder();
        async Task Send(HttpMethod method, string path, string? token, string? body = null, string scheme = "Bearer")
        {
            using var request = new HttpRequestMessage(method, path);
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
            }
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/vnd.oci.image.manifest.v1+json");
            }
            using HttpResponseMessage response = await hub.Http.SendAsync(request);
            seen.Append(response.Headers).Append(await response.Content.ReadAsStringAsync()).Append('\n');
        }
        string wrong = "wrong-token-" + Guid.NewGuid().ToString("N");
        foreach (string? token in new[] { PullToken, TestBed.PushToken, wrong, null })
        {
            await Send(HttpMethod.Get, "v2/library/stories/manifests/latest", token);
            await Send(HttpMethod.Get, "api/models/library/stories", token);
            await Send(HttpMethod.Get, "library/stories/resolve/main/no-such-file", token);
            await Send(HttpMethod.Post, "v2/library/stories/blobs/uploads/", token);
            await Send(HttpMethod.Put, "v2/library/evil/manifests/latest", token, "{\"schemaVersion\":2,\"layers\":" + new string('[', 200) + "}");
            await Send(HttpMethod.Put, "v2/library/evil/manifests/latest", token, "not json");
            await Send(HttpMethod.Get, $"v2/library/stories/manifests/latest?token={token}&access_token={token}", null);
            await Send(HttpMethod.Get, "v2/", token, scheme: "Basic");
        }
        IReadOnlyList<string> lines = logs.Lines;
        Assert.True(lines.Count > 30, $"only {lines.Count} log lines were captured");
        string everything = string.Join('\n', lines) + '\n' + seen;
        foreach (string token in new[] { PullToken, TestBed.PushToken, wrong })
        {
            Assert.DoesNotContain(token[..12], everything, StringComparison.Ordinal);
            Assert.DoesNotContain(token[^12..], everything, StringComparison.Ordinal);
        }
    }
}
