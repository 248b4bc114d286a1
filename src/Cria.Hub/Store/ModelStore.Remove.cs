using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

public sealed partial class ModelStore
{
    /// <summary>
    /// Removes a model's manifest, then deletes each of its blobs that no other manifest refers to.
    /// Blobs are kept (with a warning) when another manifest cannot be read, since it might refer to them.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public RemoveResult Remove(string name) => Remove(ModelName.Parse(name));

    public RemoveResult Remove(ModelName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        using StoreLock _ = StoreLock.Acquire(ModelsDirectory, s_lockTimeout);
        string path = LocateManifest(name)
            ?? throw new ModelNotFoundException($"model \"{name.DisplayShortest()}\" not found in the store ({ModelsDirectory})");
        var warnings = new List<string>();
        StoredManifest? removed = null;
        try
        {
            removed = ReadManifest(path, name);
        }
        catch (HubException e)
        {
            warnings.Add($"its manifest could not be read ({e.Message}); its blobs were left in place");
        }
        File.Delete(path);
        PruneEmptyDirectories(Path.GetDirectoryName(path)!);

        var deleted = new List<Digest>();
        if (removed is not null)
        {
            HashSet<Digest>? inUse = ReferencedBlobs(warnings);
            if (inUse is not null)
            {
                foreach (ManifestLayer layer in removed.Manifest.Blobs)
                {
                    if (!inUse.Contains(layer.Digest) && !deleted.Contains(layer.Digest) && Blobs.Delete(layer.Digest))
                    {
                        deleted.Add(layer.Digest);
                    }
                }
            }
        }
        return new RemoveResult(removed?.Name ?? name, removed?.Digest, deleted, warnings);
    }

    /// <summary>
    /// Deletes every blob no manifest refers to that is older than <paramref name="minimumAge"/> (a pull
    /// in progress has blobs without a manifest yet), and stale temporary files. Nothing is deleted when
    /// some manifest cannot be read.
    /// </summary>
    public IReadOnlyList<Digest> CollectGarbage(TimeSpan minimumAge)
    {
        using StoreLock _ = StoreLock.Acquire(ModelsDirectory, s_lockTimeout);
        var warnings = new List<string>();
        HashSet<Digest>? inUse = ReferencedBlobs(warnings);
        if (inUse is null)
        {
            throw new HubException($"garbage collection skipped: {string.Join("; ", warnings)}");
        }
        var deleted = new List<Digest>();
        DateTime cutoff = DateTime.UtcNow - minimumAge;
        foreach (Digest d in Blobs.Enumerate().ToList())
        {
            if (!inUse.Contains(d) && File.GetLastWriteTimeUtc(Blobs.PathOf(d)) <= cutoff && Blobs.Delete(d))
            {
                deleted.Add(d);
            }
        }
        Blobs.DeleteStaleTemporaryFiles(minimumAge);
        return deleted;
    }

    /// <summary>
    /// Deletes those of <paramref name="digests"/> that no manifest refers to (blobs a failed pull or push
    /// brought in); nothing when some manifest cannot be read. Best effort: I/O errors are swallowed.
    /// </summary>
    public void RemoveUnreferencedBlobs(IEnumerable<Digest> digests)
    {
        ArgumentNullException.ThrowIfNull(digests);
        RemoveUnreferenced([.. digests]);
    }

    /// <summary>The names of every manifest in the store (valid names only), without reading the manifests.</summary>
    public IEnumerable<ModelName> Names() => EnumerateManifestFiles().Select(m => m.Name);

    /// <summary>The digests every manifest refers to; null (with a warning) when some manifest cannot be read.</summary>
    private HashSet<Digest>? ReferencedBlobs(List<string> warnings)
    {
        var inUse = new HashSet<Digest>();
        bool complete = true;
        foreach ((ModelName other, string otherPath) in EnumerateManifestFiles())
        {
            try
            {
                inUse.UnionWith(ReadManifest(otherPath, other).Manifest.Blobs.Select(l => l.Digest));
            }
            catch (HubException e)
            {
                warnings.Add($"manifest {other.DisplayShortest()} cannot be read ({e.Message}), so no blob was deleted; remove it with cria rm");
                complete = false;
            }
        }
        return complete ? inUse : null;
    }

    /// <summary>Removes now-empty directories from a removed manifest's folder up to (not including) manifests/.</summary>
    private void PruneEmptyDirectories(string dir)
    {
        string root = Path.TrimEndingDirectorySeparator(ManifestsDirectory);
        while (dir.Length > root.Length && dir.StartsWith(root, StringComparison.Ordinal) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
            dir = Path.GetDirectoryName(dir)!;
        }
    }
}
