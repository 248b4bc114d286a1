using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Cria.Hosting;

/// <summary>
/// What one client connection may hold, for both Cria web apps: how long Kestrel waits for a request's
/// headers (a slowloris client sending a byte a second is cut off after it), how long an idle
/// keep-alive connection stays open, the slowest body upload accepted, the largest header block, and
/// how many connections are open at once (one more is closed as soon as it is accepted). The request
/// body limit is each app's own (the server's <c>--max-body</c>, the hub's manifest size).
/// </summary>
public sealed record ConnectionLimits
{
    /// <summary>Time from a connection's first byte (or its previous request) to the end of a request's headers (Kestrel's default is 30 s).</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle keep-alive connection stays open (Kestrel's default is 130 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Slowest request body accepted, in bytes per second after a 5 s grace period (0: no minimum).</summary>
    public double MinRequestBodyBytesPerSecond { get; init; } = 240;

    /// <summary>Largest request line plus headers, in bytes.</summary>
    public int MaxRequestHeadersBytes { get; init; } = 32 << 10;

    /// <summary>Connections open at once; one more is closed as soon as it is accepted (0: no limit).</summary>
    public long MaxConnections { get; init; } = 1024;

    /// <summary>Upgraded connections (WebSockets) open at once (0: no limit).</summary>
    public long MaxUpgradedConnections { get; init; } = 64;

    /// <exception cref="ArgumentException">The first setting out of range, named as its command-line option.</exception>
    public void Validate()
    {
        if (RequestHeadersTimeout < TimeSpan.FromSeconds(1) || RequestHeadersTimeout > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"--header-timeout must be between 1s and 1h, got {RequestHeadersTimeout}");
        }
        if (KeepAliveTimeout < TimeSpan.FromSeconds(1) || KeepAliveTimeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"--keep-alive-timeout must be between 1s and 24h, got {KeepAliveTimeout}");
        }
        if (!double.IsFinite(MinRequestBodyBytesPerSecond) || MinRequestBodyBytesPerSecond < 0)
        {
            throw new ArgumentException($"--min-body-rate must be ≥ 0 bytes per second (0: no minimum), got {MinRequestBodyBytesPerSecond}");
        }
        if (MaxRequestHeadersBytes is < 1024 or > 16 << 20)
        {
            throw new ArgumentException($"--max-header-bytes must be between 1 KiB and 16 MiB, got {MaxRequestHeadersBytes}");
        }
        if (MaxConnections < 0 || MaxUpgradedConnections < 0)
        {
            throw new ArgumentException($"--max-connections must be ≥ 0 (0: no limit), got {Math.Min(MaxConnections, MaxUpgradedConnections)}");
        }
    }

    /// <summary>Sets these limits on <paramref name="kestrel"/>.</summary>
    public void Apply(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        KestrelServerLimits limits = kestrel.Limits;
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        limits.KeepAliveTimeout = KeepAliveTimeout;
        limits.MinRequestBodyDataRate = MinRequestBodyBytesPerSecond > 0 ? new MinDataRate(MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5)) : null;
        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
        // The request line is part of the header block; a target longer than the block could not be sent anyway.
        limits.MaxRequestLineSize = Math.Min(limits.MaxRequestLineSize, MaxRequestHeadersBytes);
        limits.MaxConcurrentConnections = MaxConnections > 0 ? MaxConnections : null;
        limits.MaxConcurrentUpgradedConnections = MaxUpgradedConnections > 0 ? MaxUpgradedConnections : null;
    }
}
