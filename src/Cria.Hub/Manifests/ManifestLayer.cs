using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>One blob a manifest refers to: its media type, digest and size (and, for layers inherited from another model, that model's name).</summary>
public sealed record ManifestLayer
{
    [JsonPropertyName("mediaType")]
    public required string MediaType { get; init; }

    [JsonPropertyName("digest")]
    [JsonConverter(typeof(DigestJsonConverter))]
    public required Digest Digest { get; init; }

    [JsonPropertyName("size")]
    public required long Size { get; init; }

    /// <summary>Ollama's <c>from</c>: the model this layer was inherited from (by <c>FROM name</c>).</summary>
    [JsonPropertyName("from")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? From { get; init; }
}
