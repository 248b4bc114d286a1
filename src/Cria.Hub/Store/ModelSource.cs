namespace Cria.Hub.Store;

/// <summary>Where a new model's weights come from (a Modelfile's FROM, resolved).</summary>
public abstract record ModelSource
{
    private protected ModelSource()
    {
    }

    /// <summary>A GGUF file on disk: validated, copied into the store (hashed on the way), recorded as an import.</summary>
    public static ModelSource FromFile(string path) => new FileModelSource(Path.GetFullPath(path));

    /// <summary>A model in this store: the new model inherits its layers and lineage, then overrides.</summary>
    public static ModelSource FromStore(ModelName name) => new StoredModelSource(name);

    /// <summary>Weights already in the blob store (put there by a pull): validated in place; <paramref name="origin"/> (a URL) goes into the lineage.</summary>
    public static ModelSource FromBlob(Digest digest, string origin) => new BlobModelSource(digest, origin);
}

/// <summary>See <see cref="ModelSource.FromFile"/>.</summary>
public sealed record FileModelSource(string Path) : ModelSource;

/// <summary>See <see cref="ModelSource.FromStore"/>.</summary>
public sealed record StoredModelSource(ModelName Name) : ModelSource;

/// <summary>See <see cref="ModelSource.FromBlob"/>.</summary>
public sealed record BlobModelSource(Digest Digest, string Origin) : ModelSource;
