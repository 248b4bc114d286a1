using System.Text.Json.Serialization;

namespace Cria.Hub.Remote;

/// <summary><c>GET /api/models/{repo}/revision/{rev}?blobs=true</c>: the resolved commit and the files (only what Cria reads).</summary>
internal sealed class HfModelInfo
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("sha")]
    public string? Sha { get; set; }

    [JsonPropertyName("siblings")]
    public List<HfSibling?>? Siblings { get; set; }
}

internal sealed class HfSibling
{
    [JsonPropertyName("rfilename")]
    public string? RFilename { get; set; }

    [JsonPropertyName("size")]
    public long? Size { get; set; }

    [JsonPropertyName("lfs")]
    public HfLfs? Lfs { get; set; }
}

/// <summary>LFS facts: <c>sha256</c> in model info, <c>oid</c> in the tree API.</summary>
internal sealed class HfLfs
{
    [JsonPropertyName("sha256")]
    public string? Sha256 { get; set; }

    [JsonPropertyName("oid")]
    public string? Oid { get; set; }

    [JsonPropertyName("size")]
    public long? Size { get; set; }
}

/// <summary>One entry of <c>GET /api/models/{repo}/tree/{rev}</c>.</summary>
internal sealed class HfTreeEntry
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("path")]
    public string? Path { get; set; }

    [JsonPropertyName("size")]
    public long? Size { get; set; }

    [JsonPropertyName("lfs")]
    public HfLfs? Lfs { get; set; }
}

/// <summary>Hugging Face API answers are large and nested (card data, configs); depth is bounded all the same.</summary>
[JsonSourceGenerationOptions(MaxDepth = 64)]
[JsonSerializable(typeof(HfModelInfo))]
[JsonSerializable(typeof(List<HfTreeEntry?>))]
internal sealed partial class HuggingFaceJsonContext : JsonSerializerContext
{
}
