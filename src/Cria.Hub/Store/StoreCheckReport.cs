namespace Cria.Hub.Store;

/// <summary>What <see cref="ModelStore.Check"/> found wrong.</summary>
public enum StoreProblemKind
{
    /// <summary>A blob whose content does not hash to its name (or that cannot be read, or is a link).</summary>
    CorruptBlob,

    /// <summary>A manifest that cannot be read, or names a blob that is missing, of another size or corrupt.</summary>
    BrokenManifest,

    /// <summary>A temporary file of a writer that is no longer running.</summary>
    TemporaryFile,

    /// <summary>A download a dead pull left (a later pull of the same model would resume it).</summary>
    PartialDownload,

    /// <summary>A complete blob that no readable manifest refers to.</summary>
    OrphanBlob,
}

/// <summary>One finding: what, which file (relative to the models folder), why, and whether a repair removed it.</summary>
public sealed record StoreProblem(StoreProblemKind Kind, string Path, string Detail, long Bytes)
{
    /// <summary>True once <c>--repair</c> removed it.</summary>
    public bool Repaired { get; set; }

    /// <summary>Why the repair could not remove it, if it tried and failed.</summary>
    public string? RepairError { get; set; }
}

/// <summary>Progress of a check: bytes of blobs hashed so far out of all of them.</summary>
public readonly record struct StoreCheckProgress(string Item, long Done, long Total);

/// <summary>The result of <see cref="ModelStore.Check"/>.</summary>
public sealed class StoreCheckReport
{
    public required string Directory { get; init; }

    /// <summary>Complete blobs whose digest was verified.</summary>
    public int BlobsVerified { get; set; }

    public long BytesVerified { get; set; }

    /// <summary>Manifests read (good and broken).</summary>
    public int Manifests { get; set; }

    public List<StoreProblem> Problems { get; } = [];

    /// <summary>Things worth saying that are not problems: files of live writers left alone, files the store does not know.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Whether a repair was asked for.</summary>
    public bool RepairAsked { get; init; }

    /// <summary>Why the repair did not run (another process is writing to the store), or null.</summary>
    public string? RepairRefused { get; set; }

    /// <summary>Nothing is wrong any more: no problems, or every one repaired.</summary>
    public bool Clean => Problems.TrueForAll(p => p.Repaired);
}
