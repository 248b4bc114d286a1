using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>
/// One step in a model's history, oldest first in the lineage layer: how it relates to
/// <see cref="Source"/> (a store name, a file path or a URL) and the SHA-256 of the weights or adapter
/// that step used. A derivative's lineage is its base's lineage followed by its own steps.
/// </summary>
public sealed record LineageStep
{
    /// <summary>One of <see cref="LineageRelations"/>.</summary>
    [JsonPropertyName("relation")]
    public required string Relation { get; init; }

    [JsonPropertyName("source")]
    public required string Source { get; init; }

    [JsonPropertyName("digest")]
    [JsonConverter(typeof(DigestJsonConverter))]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Digest? Digest { get; init; }

    [JsonPropertyName("created")]
    public DateTimeOffset Created { get; init; }
}

/// <summary>The relations a <see cref="LineageStep"/> may have (Hugging Face's base_model_relation values plus base and import).</summary>
public static class LineageRelations
{
    /// <summary>Built on a model in the store (FROM name): same weights, new template, parameters, system prompt…</summary>
    public const string Base = "base";

    /// <summary>A LoRA adapter applied on top (ADAPTER).</summary>
    public const string Adapter = "adapter";

    public const string Finetune = "finetune";
    public const string Merge = "merge";
    public const string Quantized = "quantized";

    /// <summary>Weights brought into the store from a file or a download.</summary>
    public const string Import = "import";

    public static bool IsKnown(string relation) =>
        relation is Base or Adapter or Finetune or Merge or Quantized or Import;
}
