namespace Cria.Hub.Blobs;

/// <summary>A blob in the store: its digest, its size in bytes, and whether this call wrote it (false: it was already there).</summary>
public readonly record struct BlobInfo(Digest Digest, long Size, bool Created);
