using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>
/// The manifest's config blob, as Ollama writes it (types/model/config.go ConfigV2): what <c>ollama
/// list</c> and <c>cria list</c> show without opening the weights.
/// </summary>
public sealed record ImageConfig
{
    /// <summary>"gguf".</summary>
    [JsonPropertyName("model_format")]
    public string ModelFormat { get; init; } = "gguf";

    /// <summary>general.architecture of the weights ("llama", "qwen2").</summary>
    [JsonPropertyName("model_family")]
    public string ModelFamily { get; init; } = "";

    [JsonPropertyName("model_families")]
    public IReadOnlyList<string>? ModelFamilies { get; init; }

    /// <summary>Parameter count for people: "260K", "8.0B" (<see cref="Core.Gguf.ModelFacts.ParameterSize"/>; Ollama shows it as the parameter size).</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "";

    /// <summary>Quantization: llama.cpp's file type name ("Q4_K_M", "F16").</summary>
    [JsonPropertyName("file_type")]
    public string FileType { get; init; } = "";

    /// <summary>Required by the image config spec: the CPU architecture in Go's spelling ("amd64").</summary>
    [JsonPropertyName("architecture")]
    public string Architecture { get; init; } = "";

    /// <summary>Required by the image config spec: the OS in Go's spelling ("linux").</summary>
    [JsonPropertyName("os")]
    public string OS { get; init; } = "";
}
