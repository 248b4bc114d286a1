using System.Text.Json.Serialization;

namespace Cria.HubServer;

/// <summary><c>GET /api/models/{owner}/{repo}</c>: the fields of the Hub's model info that clients use to find and verify files.</summary>
internal sealed class HfModelInfoDto
{
    [JsonPropertyName("_id")]
    public required string InternalId { get; init; }

    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("modelId")]
    public required string ModelId { get; init; }

    [JsonPropertyName("author")]
    public required string Author { get; init; }

    [JsonPropertyName("sha")]
    public required string Sha { get; init; }

    [JsonPropertyName("lastModified")]
    public required DateTimeOffset LastModified { get; init; }

    [JsonPropertyName("private")]
    public bool Private { get; init; }

    [JsonPropertyName("gated")]
    public bool Gated { get; init; }

    [JsonPropertyName("disabled")]
    public bool Disabled { get; init; }

    [JsonPropertyName("library_name")]
    public string LibraryName { get; init; } = "gguf";

    [JsonPropertyName("tags")]
    public required IReadOnlyList<string> Tags { get; init; }

    [JsonPropertyName("siblings")]
    public required List<HfSiblingDto> Siblings { get; init; }
}

internal sealed class HfSiblingDto
{
    [JsonPropertyName("rfilename")]
    public required string RFilename { get; init; }

    [JsonPropertyName("size")]
    public long Size { get; init; }

    [JsonPropertyName("blobId")]
    public required string BlobId { get; init; }

    [JsonPropertyName("lfs")]
    public HfLfsDto? Lfs { get; init; }
}

/// <summary>LFS facts: <c>sha256</c> in model info, <c>oid</c> (the same hash) in the tree API.</summary>
internal sealed class HfLfsDto
{
    [JsonPropertyName("sha256")]
    public string? Sha256 { get; init; }

    [JsonPropertyName("oid")]
    public string? Oid { get; init; }

    [JsonPropertyName("size")]
    public long Size { get; init; }

    [JsonPropertyName("pointerSize")]
    public long PointerSize { get; init; }
}

/// <summary>One entry of <c>GET /api/models/{owner}/{repo}/tree/{rev}</c>.</summary>
internal sealed class HfTreeEntryDto
{
    [JsonPropertyName("type")]
    public string Type { get; init; } = "file";

    [JsonPropertyName("oid")]
    public required string Oid { get; init; }

    [JsonPropertyName("size")]
    public long Size { get; init; }

    [JsonPropertyName("path")]
    public required string Path { get; init; }

    [JsonPropertyName("lfs")]
    public HfLfsDto? Lfs { get; init; }
}
