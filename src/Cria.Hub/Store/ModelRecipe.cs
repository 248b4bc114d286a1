using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

/// <summary>
/// Everything a new model is made of — a Modelfile with its FROM and paths resolved, or what a pull
/// or a conversion has to say about weights it produced. <see cref="ModelStore.Create(ModelName, ModelRecipe, IProgress{StoreProgress}?, CancellationToken)"/>
/// turns it into blobs and a manifest. Rules (Ollama's, plus Cria's licence and lineage rules): over a
/// stored base, a non-empty template or system prompt replaces the base's; parameters replace the
/// base's key by key; messages, when given, replace the base's; licences are added to the base's,
/// never instead of them; lineage is the base's plus this model's steps.
/// </summary>
public sealed record ModelRecipe
{
    public required ModelSource From { get; init; }

    /// <summary>LoRA adapter GGUF files (full paths), applied in order.</summary>
    public IReadOnlyList<string> Adapters { get; init; } = [];

    public ModelParameters Parameters { get; init; } = ModelParameters.Empty;

    public string? Template { get; init; }

    public string? System { get; init; }

    /// <summary>Licence texts (or ids) to add.</summary>
    public IReadOnlyList<string> Licenses { get; init; } = [];

    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>README.md with YAML front matter (a Hugging Face repo's card, for a pull); null: generated.</summary>
    public string? ModelCard { get; init; }

    /// <summary>
    /// Steps before the import, oldest first (a pulled repository's declared <c>base_model</c>); they open
    /// the lineage of weights from a file or blob. Ignored over a stored base.
    /// </summary>
    public IReadOnlyList<LineageStep> Upstream { get; init; } = [];

    /// <summary>How weights from a file or blob relate to their source: import (default), quantized, finetune or merge.</summary>
    public string ImportRelation { get; init; } = LineageRelations.Import;
}
