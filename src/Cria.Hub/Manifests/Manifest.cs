using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>
/// A Docker/OCI v2 image manifest as Ollama stores and serves it: schema version 2, a config blob
/// (<see cref="ImageConfig"/>) and the layers (weights, template, params, licences…), each named by
/// digest. The manifest's own digest is the SHA-256 of its bytes exactly as stored.
/// Reference: Docker Image Manifest V2 Schema 2; ollama/ollama manifest/manifest.go.
/// </summary>
public sealed record Manifest
{
    public const int MaxBytes = 4 << 20;      // the distribution spec lets registries refuse more
    public const int MaxLayers = 1024;
    private const int MaxMediaTypeLength = 255;

    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    [JsonPropertyName("mediaType")]
    public string MediaType { get; init; } = MediaTypes.Manifest;

    [JsonPropertyName("config")]
    public required ManifestLayer Config { get; init; }

    [JsonPropertyName("layers")]
    public required IReadOnlyList<ManifestLayer> Layers { get; init; }

    /// <summary>Bytes of the config and every layer (what Ollama reports as the model's size).</summary>
    [JsonIgnore]
    public long TotalSize => Config.Size + Layers.Sum(l => l.Size);

    /// <summary>The config blob, then the layers.</summary>
    [JsonIgnore]
    public IEnumerable<ManifestLayer> Blobs => Layers.Prepend(Config);

    /// <summary>The first layer of a media type, or null.</summary>
    public ManifestLayer? Find(string mediaType) => Layers.FirstOrDefault(l => l.MediaType == mediaType);

    /// <summary>Every layer of a media type, in order.</summary>
    public IEnumerable<ManifestLayer> FindAll(string mediaType) => Layers.Where(l => l.MediaType == mediaType);

    /// <summary>The manifest as compact JSON — the bytes that are stored and whose SHA-256 is its digest.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, HubJsonContext.Store.Manifest);

    /// <summary>Parses and checks a manifest: schema 2, a Docker or OCI manifest media type, valid digests, sizes ≥ 0, bounded counts.</summary>
    /// <param name="source">Where it came from, for error messages (a path or a name).</param>
    /// <exception cref="HubException">Not a manifest Cria can use; the message names <paramref name="source"/> and the problem.</exception>
    public static Manifest Parse(ReadOnlySpan<byte> json, string source)
    {
        if (json.Length > MaxBytes)
        {
            throw new HubException($"manifest {source} is {json.Length:N0} bytes; at most {MaxBytes:N0} are accepted");
        }
        Manifest? m;
        try
        {
            m = JsonSerializer.Deserialize(json, HubJsonContext.Store.Manifest);
        }
        catch (JsonException e)
        {
            throw new HubException($"manifest {source} is not valid: {e.Message}", e);
        }
        if (m is null)
        {
            throw new HubException($"manifest {source} is JSON null");
        }
        if (m.SchemaVersion != 2)
        {
            throw new HubException($"manifest {source} has schemaVersion {m.SchemaVersion}; only 2 is supported");
        }
        if (m.MediaType is not (MediaTypes.Manifest or MediaTypes.OciManifest))
        {
            throw new HubException($"manifest {source} has mediaType \"{Digest.Printable(m.MediaType ?? "")}\"; expected {MediaTypes.Manifest}");
        }
        if (m.Config is null || m.Layers is null)
        {
            throw new HubException($"manifest {source} needs both \"config\" and \"layers\"");
        }
        if (m.Layers.Count > MaxLayers)
        {
            throw new HubException($"manifest {source} has {m.Layers.Count} layers; at most {MaxLayers} are accepted");
        }
        foreach (ManifestLayer l in m.Blobs)
        {
            if (l is null || l.Digest is null || l.MediaType is null)
            {
                throw new HubException($"manifest {source} has a layer without a digest or media type");
            }
            if (l.Size < 0)
            {
                throw new HubException($"manifest {source}: layer {l.Digest} has negative size {l.Size}");
            }
            if (l.MediaType.Length is 0 or > MaxMediaTypeLength || l.MediaType.Any(c => c is < '!' or > '~'))
            {
                throw new HubException($"manifest {source}: layer {l.Digest} has media type \"{Digest.Printable(l.MediaType)}\", which is not a media type");
            }
        }
        return m;
    }
}
