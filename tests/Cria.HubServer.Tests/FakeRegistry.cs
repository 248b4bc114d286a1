using System.Collections.Concurrent;
using System.Net.Http.Headers;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Cria.Tests.Fakes;

/// <summary>
/// A tiny registry on 127.0.0.1 serving one manifest (<c>/v2/library/{any}/manifests/latest</c>) and its
/// blobs, with faults to inject: drop the connection mid-blob, corrupt a byte, ignore Range, send slowly.
/// It records every blob request's Range header.
/// </summary>
public sealed class FakeRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IReadOnlyDictionary<string, byte[]> _blobs;
    private int _drops;

    private FakeRegistry(WebApplication app, byte[] manifest, IReadOnlyDictionary<string, byte[]> blobs)
    {
        _app = app;
        Manifest = manifest;
        _blobs = blobs;
    }

    public byte[] Manifest { get; set; }

    /// <summary>Host and port, for a model name: <c>127.0.0.1:PORT</c>.</summary>
    public string Host { get; private set; } = "";

    /// <summary>Blob requests ("digest range"), in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Blobs at least this long are the ones faults apply to.</summary>
    public long FaultMinSize { get; set; } = 1 << 16;

    /// <summary>Drop the connection after this many bytes of a faulty blob's response, <see cref="DropTimes"/> times.</summary>
    public int DropAfter { get; set; } = -1;

    public int DropTimes { get; set; }

    public bool Corrupt { get; set; }

    public bool IgnoreRange { get; set; }

    /// <summary>Delay after each 16 KiB of a faulty blob (slow transfers).</summary>
    public TimeSpan ChunkDelay { get; set; }

    public static async Task<FakeRegistry> StartAsync(byte[] manifest, IReadOnlyDictionary<string, byte[]> blobs)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        var fake = new FakeRegistry(app, manifest, blobs);
        app.MapGet("/v2/library/{model}/manifests/latest", (HttpContext http) =>
        {
            http.Response.ContentType = "application/vnd.docker.distribution.manifest.v2+json";
            return http.Response.Body.WriteAsync(fake.Manifest).AsTask();
        });
        app.MapGet("/v2/library/{model}/blobs/{digest}", (string digest, HttpContext http) => fake.ServeBlobAsync(digest, http));
        await app.StartAsync();
        fake.Host = new Uri(app.Urls.Single()).Authority;
        return fake;
    }

    private async Task ServeBlobAsync(string digest, HttpContext http)
    {
        string range = http.Request.Headers.Range.ToString();
        Requests.Enqueue($"{digest} {range}");
        if (!_blobs.TryGetValue(digest, out byte[]? blob))
        {
            http.Response.StatusCode = 404;
            return;
        }
        bool faulty = blob.Length >= FaultMinSize;
        long from = 0;
        long to = blob.Length - 1;
        if (range.Length > 0 && !(IgnoreRange && faulty) && RangeHeaderValue.TryParse(range, out RangeHeaderValue? r) && r.Ranges.Count == 1)
        {
            RangeItemHeaderValue item = r.Ranges.First();
            from = item.From ?? 0;
            to = Math.Min(item.To ?? blob.Length - 1, blob.Length - 1);
            http.Response.StatusCode = 206;
            http.Response.Headers.ContentRange = $"bytes {from}-{to}/{blob.Length}";
        }
        byte[] body = blob[(int)from..(int)(to + 1)];
        if (faulty && Corrupt)
        {
            body = [.. body];
            body[body.Length / 2] ^= 0xFF;
        }
        http.Response.ContentLength = body.Length;
        bool drop = faulty && DropAfter >= 0 && Interlocked.Increment(ref _drops) <= DropTimes;
        int limit = drop ? Math.Min(DropAfter, body.Length) : body.Length;
        for (int off = 0; off < limit; off += 16 << 10)
        {
            int n = Math.Min(16 << 10, limit - off);
            await http.Response.Body.WriteAsync(body.AsMemory(off, n), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            if (faulty && ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(ChunkDelay, http.RequestAborted);
            }
        }
        if (drop)
        {
            http.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync();
    }
}
