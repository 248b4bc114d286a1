using Cria.Hub.Store;

namespace Cria.Hub.Remote;

/// <summary>What a pull stored: the model, where it came from (a registry manifest URL or a pinned Hugging Face file URL), and any warnings.</summary>
public sealed record PullResult
{
    public required StoredManifest Stored { get; init; }

    /// <summary>The URL the weights came from.</summary>
    public required string Source { get; init; }

    /// <summary>The pinned commit, for a Hugging Face pull.</summary>
    public string? Revision { get; init; }

    /// <summary>Bytes downloaded by this pull (blobs already in the store are not counted).</summary>
    public long Downloaded { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];
}
