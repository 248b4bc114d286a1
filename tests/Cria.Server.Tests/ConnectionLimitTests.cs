using System.Diagnostics;
using System.Net;
using System.Text;

using Cria.Hosting;
using Cria.Tests.Http;
using Cria.Tests.Tls;

namespace Cria.Server.Tests;

/// <summary>
/// What a client connection may hold (SECURITY.md §3): HTTPS from PEM files, with clear errors for bad
/// ones; a slowloris client cut off by the header timeout; connections past the cap closed while the
/// earlier ones keep working.
/// </summary>
public sealed class ConnectionLimitTests
{
    [Fact]
    public async Task Https_with_pem_files_serves_a_client_that_trusts_only_that_certificate()
    {
        string dir = Directory.CreateTempSubdirectory("cria-tls-").FullName;
        try
        {
            using var cert = new TestCertificate(dir);
            await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Tls = new TlsFiles(cert.CertificatePath, cert.KeyPath) });
            Assert.Equal("https", server.BaseAddress.Scheme);
            using var https = new HttpClient(cert.TrustingHandler()) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            using HttpResponseMessage health = await https.GetAsync("health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            using HttpResponseMessage chat = await https.PostAsync("v1/chat/completions",
                new StringContent("""{"model":"stories260K","messages":[{"role":"user","content":"hi"}],"max_tokens":2}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

            // A client with the default trust store refuses the self-signed certificate; plain HTTP gets no answer.
            using var untrusting = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync("health"));
            using var plain = new HttpClient { BaseAddress = new Uri($"http://{server.BaseAddress.Authority}/"), Timeout = TimeSpan.FromSeconds(30) };
            try
            {
                using HttpResponseMessage refused = await plain.GetAsync("health");
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode); // Kestrel's answer to HTTP on an HTTPS port
            }
            catch (HttpRequestException)
            {
                // or the connection is dropped
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Missing_bad_and_mismatched_pem_files_are_clear_errors_at_build()
    {
        string dir = Directory.CreateTempSubdirectory("cria-tls-").FullName;
        try
        {
            using var cert = new TestCertificate(dir, "a");
            using var other = new TestCertificate(dir, "b");
            string garbage = Path.Combine(dir, "garbage.pem");
            File.WriteAllText(garbage, "not a certificate\n");
            string missing = Path.Combine(dir, "missing.pem");

            string Fails(string certPath, string keyPath) =>
                Assert.Throws<ArgumentException>(() => CriaServer.Build(new ServerOptions { Port = 0, Tls = new TlsFiles(certPath, keyPath) })).Message;

            Assert.Equal($"--tls-cert {missing}: file not found", Fails(missing, cert.KeyPath));
            Assert.Equal($"--tls-key {missing}: file not found", Fails(cert.CertificatePath, missing));
            Assert.StartsWith($"--tls-cert {garbage} holds no PEM certificate", Fails(garbage, cert.KeyPath), StringComparison.Ordinal);
            Assert.StartsWith($"--tls-key {garbage} ", Fails(cert.CertificatePath, garbage), StringComparison.Ordinal);
            string mismatched = Fails(cert.CertificatePath, other.KeyPath);
            Assert.True(mismatched.StartsWith($"--tls-key {other.KeyPath} is not the private key of the certificate", StringComparison.Ordinal), mismatched);
            Assert.Throws<ArgumentException>(() => TlsFiles.From(cert.CertificatePath, null));
            Assert.Throws<ArgumentException>(() => TlsFiles.From(null, cert.KeyPath));
            Assert.Null(TlsFiles.From(null, null));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_slowloris_client_is_cut_off_by_the_header_timeout()
    {
        var limits = new ConnectionLimits { RequestHeadersTimeout = TimeSpan.FromSeconds(2) };
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Connections = limits });
        using RawHttp slow = await RawHttp.ConnectAsync(server.BaseAddress);
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Task reading = Task.Run(async () =>
        {
            // Whatever the server says (a 408, or nothing), the connection must end.
            byte[] buffer = new byte[4096];
            try
            {
                while (await slow.Stream.ReadAsync(buffer, stop.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
            }
        });
        byte[] header = Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + new string('a', 30));
        int sent = 0;
        try
        {
            // One byte a second: 30 s of header if nothing cuts it off.
            for (; sent < header.Length && !reading.IsCompleted; sent++)
            {
                await slow.Stream.WriteAsync(header.AsMemory(sent, 1), stop.Token);
                await Task.WhenAny(reading, Task.Delay(1000, stop.Token));
            }
        }
        catch (IOException)
        {
            // The server closed the connection under the writer.
        }
        await reading.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(stop.IsCancellationRequested, "the slow connection was never closed");
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 8);
        Assert.True(sent < header.Length, $"all {sent} bytes of the header went through");

        // A client that sends its request at once is served as before.
        using HttpResponseMessage health = await server.Http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Connections_past_the_cap_are_closed_while_earlier_ones_keep_working()
    {
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Connections = new ConnectionLimits { MaxConnections = 2 } });
        TimeSpan timeout = TimeSpan.FromSeconds(10);
        using RawHttp first = await RawHttp.ConnectAsync(server.BaseAddress);
        using RawHttp second = await RawHttp.ConnectAsync(server.BaseAddress);
        Assert.Equal(200, (await first.GetAsync("/health", timeout))?.Status);
        Assert.Equal(200, (await second.GetAsync("/health", timeout))?.Status);

        using (RawHttp third = await RawHttp.ConnectAsync(server.BaseAddress))
        {
            Assert.Null(await third.GetAsync("/health", timeout));
        }

        // The two held connections still answer, again and again.
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await first.GetAsync("/v1/models", timeout))?.Status);
            Assert.Equal(200, (await second.GetAsync("/health", timeout))?.Status);
        }

        // Closing one makes room for a new one.
        second.Dispose();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using RawHttp next = await RawHttp.ConnectAsync(server.BaseAddress);
            if ((await next.GetAsync("/health", timeout))?.Status == 200)
            {
                break;
            }
            Assert.True(clock.Elapsed < timeout, "no room for a new connection after one closed");
            await Task.Delay(100);
        }
    }
}
