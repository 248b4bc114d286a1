namespace Cria.Hub.Remote;

/// <summary>
/// How <see cref="ModelPuller"/> and <see cref="ModelPusher"/> talk to registries: endpoints, tokens,
/// the plain-HTTP policy, parallelism, retries and timeouts. The defaults suit real downloads; tests
/// lower the thresholds and delays.
/// </summary>
public sealed record PullOptions
{
    /// <summary>Hugging Face's endpoint.</summary>
    public const string DefaultHuggingFaceEndpoint = "https://huggingface.co";

    /// <summary>Hugging Face (or compatible) endpoint for <c>hf.co/…</c> names: <c>--hf-endpoint</c>, else <c>HF_ENDPOINT</c>, else huggingface.co.</summary>
    public string HuggingFaceEndpoint { get; init; } = DefaultHuggingFaceEndpoint;

    /// <summary>Sent as <c>Authorization: Bearer</c> to the Hugging Face endpoint only (gated repositories); never logged.</summary>
    public string? HuggingFaceToken { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer</c> to the registry host only (a private <c>cria hub</c>); never logged.</summary>
    public string? RegistryToken { get; init; }

    /// <summary>
    /// Allow plain HTTP to any host. Without it, only HTTPS is used, except for loopback hosts
    /// (localhost, 127.0.0.0/8, ::1), where traffic never leaves the machine and plain HTTP is the default.
    /// </summary>
    public bool Insecure { get; init; }

    /// <summary>Ranged requests a large blob is split into when the server supports <c>Range</c>.</summary>
    public int ParallelParts { get; init; } = 4;

    /// <summary>Blobs with at least this many bytes left to fetch are downloaded in <see cref="ParallelParts"/> parts.</summary>
    public long ParallelThreshold { get; init; } = 64L << 20;

    /// <summary>Failed attempts in a row (without any byte of progress) before a transfer gives up.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>First delay between retries; it doubles after each failure, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connecting and receiving response headers.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest wait for the next bytes of a response body.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a pull waits for another pull of the same blob (which holds its partial file) to finish.</summary>
    public TimeSpan BlobLockWait { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Largest blob a manifest or repository may announce (a sanity bound before the disk check).</summary>
    public long MaxBlobBytes { get; init; } = 1L << 40;

    /// <summary>The options with the endpoint and token from <c>HF_ENDPOINT</c> and <c>HF_TOKEN</c> when set.</summary>
    public PullOptions WithEnvironment()
    {
        string? endpoint = Environment.GetEnvironmentVariable("HF_ENDPOINT");
        string? token = Environment.GetEnvironmentVariable("HF_TOKEN");
        return this with
        {
            HuggingFaceEndpoint = string.IsNullOrWhiteSpace(endpoint) ? HuggingFaceEndpoint : endpoint.Trim(),
            HuggingFaceToken = string.IsNullOrWhiteSpace(token) ? HuggingFaceToken : token.Trim(),
        };
    }

    internal void Validate()
    {
        if (ParallelParts is < 1 or > 64)
        {
            throw new HubException($"parallel parts must be 1 to 64, got {ParallelParts}");
        }
        if (MaxRetries is < 0 or > 100)
        {
            throw new HubException($"retries must be 0 to 100, got {MaxRetries}");
        }
    }
}
