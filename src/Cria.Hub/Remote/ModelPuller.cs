using Cria.Hub.Store;

namespace Cria.Hub.Remote;

/// <summary>
/// <c>cria pull</c>: brings a model into the store from Hugging Face (<c>hf.co/OWNER/REPO[:QUANT]</c>,
/// <c>hf.co/OWNER/REPO/FILE.gguf</c>) or from an Ollama-compatible registry
/// (<c>[host[:port]/][namespace/]model[:tag]</c>, default <c>registry.ollama.ai/library/…:latest</c>).
/// Downloads resume (<c>Range</c>), large blobs come in parallel parts, every blob is verified against
/// its SHA-256 before it is visible, and the manifest is written only after the weights open with the
/// engine's GGUF parser.
/// </summary>
public sealed class ModelPuller
{
    private readonly ModelStore _store;
    private readonly PullOptions _options;

    public ModelPuller(ModelStore store, PullOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _options = options;
    }

    /// <exception cref="HubException">A bad name, a model not found, a corrupt or oversized answer, a transfer that failed after its retries.</exception>
    /// <exception cref="Core.Gguf.GgufFormatException">The weights are not a GGUF file the engine reads (nothing is stored).</exception>
    public Task<PullResult> PullAsync(string reference, IProgress<PullProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        if (HuggingFaceReference.IsHuggingFace(reference))
        {
            return new HuggingFacePuller(_store, _options).PullAsync(HuggingFaceReference.Parse(reference), progress, cancel);
        }
        return new RegistryPuller(_store, _options).PullAsync(ModelName.Parse(reference), progress, cancel);
    }
}
