using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

/// <summary>
/// What <see cref="ModelStore.Resolve"/> found for a model argument: the GGUF file to load and, for a
/// stored model, the defaults its manifest carries (a plain file has none).
/// </summary>
public sealed record ResolvedModel
{
    /// <summary>The GGUF weights (a blob path for a stored model).</summary>
    public required string ModelPath { get; init; }

    /// <summary>The store name; null for a plain file.</summary>
    public ModelName? Name { get; init; }

    /// <summary>A short name for the model: the store name without default parts, or the file name without extension.</summary>
    public string DisplayName => Name?.DisplayShortest() ?? Path.GetFileNameWithoutExtension(ModelPath);

    public ModelParameters Parameters { get; init; } = ModelParameters.Empty;

    public string? Template { get; init; }

    public string? System { get; init; }

    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>LoRA adapters to apply over the weights, in order.</summary>
    public IReadOnlyList<string> AdapterPaths { get; init; } = [];
}
