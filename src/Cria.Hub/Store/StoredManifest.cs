using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

/// <summary>
/// A manifest as it is in the store: the name it is filed under (with the case it was written with),
/// its exact bytes (what a registry serves) and their digest, the parsed manifest, and when it was last written.
/// </summary>
public sealed record StoredManifest(ModelName Name, Manifest Manifest, Digest Digest, byte[] Bytes, string FilePath, DateTimeOffset Modified);
