using Cria.Hosting;

namespace Cria.HubServer;

/// <summary>
/// What <c>cria hub serve</c> serves and to whom: the store under <see cref="Home"/>, on one address,
/// read-only unless push tokens are given; with pull tokens, reads need a token too.
/// </summary>
public sealed record HubServerOptions
{
    /// <summary>Tokens must be at least this long (they are the only thing between the network and the store).</summary>
    public const int MinTokenLength = 16;

    /// <summary>The Cria home whose <c>models/</c> store is served (<c>$CRIA_HOME</c>).</summary>
    public required string Home { get; init; }

    public string Host { get; init; } = "127.0.0.1";

    public int Port { get; init; } = 11436;

    /// <summary>Bearer tokens that may push (and pull). None: the hub is read-only (writes get 403).</summary>
    public IReadOnlyList<string> PushTokens { get; init; } = [];

    /// <summary>Bearer tokens that may pull. None: anyone who reaches the hub may pull.</summary>
    public IReadOnlyList<string> PullTokens { get; init; } = [];

    /// <summary>Largest blob a push may upload.</summary>
    public long MaxBlobBytes { get; init; } = 1L << 40;

    /// <summary>Upload sessions open at once (a started upload not yet finished); more are refused with 429.</summary>
    public int MaxUploadSessions { get; init; } = 32;

    /// <summary>
    /// A pushed blob that no manifest names after this long is deleted (a push uploads its blobs before
    /// its manifest, so this is how long a push may take). Default one hour.
    /// </summary>
    public TimeSpan OrphanBlobAge { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often the hub looks for orphan blobs (and stale temporary files). Default ten minutes.</summary>
    public TimeSpan GarbageCollectionInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Timeouts, data rates, header size and connection caps for every client connection.</summary>
    public ConnectionLimits Connections { get; init; } = new();

    /// <summary>A PEM certificate and key to serve HTTPS with (<c>--tls-cert</c>, <c>--tls-key</c>); null: plain HTTP.</summary>
    public TlsFiles? Tls { get; init; }

    /// <summary>
    /// <c>--insecure</c>: accept tokens over plain HTTP on an address other machines can reach, where
    /// anyone on the path can read them (a TLS-terminating proxy in front is the usual reason).
    /// </summary>
    public bool Insecure { get; init; }

    /// <exception cref="ArgumentException">
    /// A bad port or host, a token that is too short or has whitespace, or tokens over plain HTTP on a
    /// non-loopback address without <see cref="Insecure"/>.
    /// </exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Home);
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"--port must be 0 to 65535, got {Port}");
        }
        foreach (string t in PushTokens.Concat(PullTokens))
        {
            if (t is null || t.Length < MinTokenLength || t.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                throw new ArgumentException($"hub tokens must be at least {MinTokenLength} characters without spaces");
            }
        }
        if (Tls is null && !Insecure && (PushTokens.Count > 0 || PullTokens.Count > 0) && !ListenAddress.IsLoopback(Host))
        {
            throw new ArgumentException($"the hub would accept tokens over plain HTTP on {Host}, where anyone on the network path can read them: "
                + "give --tls-cert and --tls-key, listen on 127.0.0.1 behind a TLS proxy, or pass --insecure to accept that");
        }
        ArgumentNullException.ThrowIfNull(Connections);
        Connections.Validate();
        if (MaxBlobBytes <= 0 || MaxUploadSessions <= 0)
        {
            throw new ArgumentException("the upload limits must be positive");
        }
        if (OrphanBlobAge < TimeSpan.FromSeconds(1) || GarbageCollectionInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("--orphan-blob-age must be at least 1s (uploads in progress are younger) and the collection interval positive");
        }
    }

    /// <summary>Tokens from a file: one per line; blank lines and lines starting with '#' are skipped.</summary>
    public static IReadOnlyList<string> ReadTokenFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (new FileInfo(path) is { Exists: true, Length: > 1 << 20 })
        {
            throw new ArgumentException($"token file {path} is larger than 1 MiB");
        }
        return [.. File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
    }
}
