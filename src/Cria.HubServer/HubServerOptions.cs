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

    /// <summary>Bearer tokens that may pull. Given any, every namespace is private (reads need a token).</summary>
    public IReadOnlyList<string> PullTokens { get; init; } = [];

    /// <summary>Tokens with per-namespace grants (a token file's lines, <see cref="HubTokenGrant"/>), besides the two lists above.</summary>
    public IReadOnlyList<HubTokenGrant> Grants { get; init; } = [];

    /// <summary>
    /// Namespaces whose repositories only tokens granted them may read (<c>*</c>: all). A token without the grant
    /// gets 404, as for a repository that does not exist. With <see cref="PullTokens"/>, every namespace is private.
    /// </summary>
    public IReadOnlyList<string> PrivateNamespaces { get; init; } = [];

    /// <summary>Every token with its grants: push tokens push everywhere, pull tokens pull everywhere, then <see cref="Grants"/>.</summary>
    public IEnumerable<HubTokenGrant> AllGrants() =>
        PushTokens.Select(HubTokenGrant.Admin).Concat(PullTokens.Select(HubTokenGrant.Reader)).Concat(Grants);

    /// <summary>The private namespaces in effect (<see cref="PrivateNamespaces"/>, or all of them with pull tokens).</summary>
    public IReadOnlyList<string> EffectivePrivateNamespaces() =>
        PullTokens.Count > 0 ? [HubTokenGrant.Everywhere] : PrivateNamespaces;

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
        foreach (string t in AllGrants().Select(g => g.Token))
        {
            if (t is null || t.Length < MinTokenLength || t.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                throw new ArgumentException($"hub tokens must be at least {MinTokenLength} characters without spaces");
            }
        }
        foreach (HubTokenGrant g in Grants)
        {
            if (g.Pull.Concat(g.Push).FirstOrDefault(ns => !HubTokenGrant.IsValidScope(ns)) is string bad)
            {
                throw new ArgumentException($"a token grant names \"{bad}\", which is not a namespace or *");
            }
        }
        if (PrivateNamespaces.FirstOrDefault(ns => !HubTokenGrant.IsValidScope(ns)) is string badPrivate)
        {
            throw new ArgumentException($"--private \"{badPrivate}\" is not a namespace or *");
        }
        if (Tls is null && !Insecure && AllGrants().Any() && !ListenAddress.IsLoopback(Host))
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

}
