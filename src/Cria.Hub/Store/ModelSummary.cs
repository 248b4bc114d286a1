namespace Cria.Hub.Store;

/// <summary>
/// One row of <c>cria list</c>: the model's name, manifest digest (its ID), total size of its blobs,
/// quantization, family, parameter size, licence short names and when it was written. A manifest that
/// cannot be read is still listed, with <see cref="Error"/> saying why, so it can be removed.
/// </summary>
public sealed record ModelSummary
{
    public required ModelName Name { get; init; }

    public Digest? Digest { get; init; }

    public long Size { get; init; }

    /// <summary>Quantization ("Q4_K_M"), from the config blob.</summary>
    public string FileType { get; init; } = "";

    public string Family { get; init; } = "";

    /// <summary>Parameter count for people ("8B"), from the config blob.</summary>
    public string ParameterSize { get; init; } = "";

    /// <summary>Short licence ids, base's first ("llama3.1", "mit").</summary>
    public IReadOnlyList<string> Licenses { get; init; } = [];

    public DateTimeOffset Modified { get; init; }

    /// <summary>Why the manifest could not be read; null when it was.</summary>
    public string? Error { get; init; }
}
