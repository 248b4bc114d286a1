namespace Cria.Hub.Store;

/// <summary>What <see cref="ModelStore.Remove(string)"/> did: the manifest removed and the blobs no other manifest referred to, which were deleted.</summary>
public sealed record RemoveResult(ModelName Name, Digest? ManifestDigest, IReadOnlyList<Digest> DeletedBlobs, IReadOnlyList<string> Warnings);
