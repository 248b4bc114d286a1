using System.Text.Json;

using Cria.Core.Gguf;
using Cria.Hub.Blobs;
using Cria.Hub.Cards;
using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

/// <summary>
/// The local model store, laid out as Ollama's so a registry server can serve it unchanged:
/// <c>HOME/models/blobs/sha256-&lt;hex&gt;</c> and <c>HOME/models/manifests/host/namespace/model/tag</c>.
/// Invariant: every manifest in the store refers only to blobs that are in the store, complete and
/// of the size it says — blobs are published before the manifest that names them (under the store
/// lock, after checking they are all there), and a blob is deleted only under the lock when no
/// manifest refers to it. Nothing is created on disk until something is written.
/// </summary>
public sealed partial class ModelStore
{
    /// <summary>Largest template, system prompt, licence, parameter, message, lineage or card layer read into memory.</summary>
    public const int MaxTextLayerBytes = 16 << 20;

    private const int MaxConfigBytes = 1 << 20;
    private static readonly TimeSpan s_lockTimeout = TimeSpan.FromSeconds(30);

    /// <param name="home">The Cria home directory (<c>$CRIA_HOME</c>, default <c>~/.cria</c>); the store is its <c>models/</c> folder.</param>
    public ModelStore(string home)
    {
        ArgumentException.ThrowIfNullOrEmpty(home);
        Home = Path.GetFullPath(home);
        ModelsDirectory = Path.Combine(Home, "models");
        ManifestsDirectory = Path.Combine(ModelsDirectory, "manifests");
        Blobs = new BlobStore(Path.Combine(ModelsDirectory, "blobs"));
    }

    public string Home { get; }

    public string ModelsDirectory { get; }

    public string ManifestsDirectory { get; }

    public BlobStore Blobs { get; }

    /// <summary><c>$CRIA_HOME</c>, else <c>~/.cria</c>.</summary>
    public static string DefaultHome()
    {
        string? home = Environment.GetEnvironmentVariable("CRIA_HOME");
        return !string.IsNullOrEmpty(home)
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cria");
    }

    /// <summary>The store under <see cref="DefaultHome"/>.</summary>
    public static ModelStore OpenDefault() => new(DefaultHome());

    /// <summary>The manifest's file for a name, as the name is spelled (see <see cref="Find"/> for lookups).</summary>
    public string ManifestPath(ModelName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Path.Combine([ManifestsDirectory, .. name.PathSegments()]);
    }

    /// <summary>The stored manifest for a name (matched case-insensitively, as Ollama does), or null.</summary>
    /// <exception cref="HubException">The manifest exists but cannot be read.</exception>
    public StoredManifest? Find(ModelName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string? path = LocateManifest(name);
        return path is null ? null : ReadManifest(path);
    }

    /// <summary>The stored manifest for a name.</summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public StoredManifest Get(string name) => Get(ModelName.Parse(name));

    public StoredManifest Get(ModelName name) =>
        Find(name) ?? throw new ModelNotFoundException($"model \"{name.DisplayShortest()}\" not found in the store ({ModelsDirectory})");

    /// <summary>Every model in the store, by name. Unreadable manifests are listed with their error.</summary>
    public IReadOnlyList<ModelSummary> List()
    {
        var rows = new List<ModelSummary>();
        foreach ((ModelName name, string path) in EnumerateManifestFiles())
        {
            try
            {
                StoredManifest m = ReadManifest(path, name);
                ImageConfig config = ReadConfig(m);
                rows.Add(new ModelSummary
                {
                    Name = name,
                    Digest = m.Digest,
                    Size = m.Manifest.TotalSize,
                    FileType = config.FileType,
                    Family = config.ModelFamily,
                    ParameterSize = config.ModelType,
                    Licenses = [.. m.Manifest.FindAll(MediaTypes.License).Select(l => LicenseNames.ShortName(ReadText(l))).Distinct(StringComparer.Ordinal)],
                    Modified = m.Modified,
                });
            }
            catch (Exception e) when (e is HubException or IOException or UnauthorizedAccessException)
            {
                rows.Add(new ModelSummary { Name = name, Modified = File.GetLastWriteTimeUtc(path), Error = e.Message });
            }
        }
        rows.Sort((a, b) => StringComparer.OrdinalIgnoreCase.Compare(a.Name.DisplayShortest(), b.Name.DisplayShortest()));
        return rows;
    }

    /// <summary>Everything about a stored model: config, parameters, template, system prompt, licences, messages, adapters, lineage, model card.</summary>
    public ModelDetails Show(string name) => Show(ModelName.Parse(name));

    public ModelDetails Show(ModelName name) => Describe(Get(name));

    /// <summary>Reads every layer of a stored manifest (text layers up to <see cref="MaxTextLayerBytes"/>).</summary>
    public ModelDetails Describe(StoredManifest stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        Manifest m = stored.Manifest;
        ManifestLayer? model = m.Find(MediaTypes.Model);
        ManifestLayer? template = m.Find(MediaTypes.Template) ?? m.Find(MediaTypes.Prompt);
        ManifestLayer? system = m.Find(MediaTypes.System);
        ManifestLayer? parameters = m.Find(MediaTypes.Params);
        ManifestLayer? messages = m.Find(MediaTypes.Messages);
        ManifestLayer? lineage = m.Find(MediaTypes.Lineage);
        ManifestLayer? card = m.Find(MediaTypes.ModelCard);
        ManifestLayer? notice = m.Find(MediaTypes.Notice);
        string source = stored.Name.DisplayShortest();
        return new ModelDetails
        {
            Stored = stored,
            Config = ReadConfig(stored),
            ModelPath = model is null ? null : Blobs.PathOf(model.Digest),
            ModelDigest = model?.Digest,
            Parameters = parameters is null ? ModelParameters.Empty : ModelParameters.FromJson(ReadBytes(parameters), source),
            Template = template is null ? null : ReadText(template),
            System = system is null ? null : ReadText(system),
            Licenses = [.. m.FindAll(MediaTypes.License).Select(ReadText)],
            Messages = messages is null ? [] : CheckNoNulls(ReadJson(messages, HubJsonContext.Store.ListChatMessage, source), m => m.Role is not null && m.Content is not null, "messages", source),
            AdapterPaths = [.. m.FindAll(MediaTypes.Adapter).Select(a => Blobs.PathOf(a.Digest))],
            Lineage = lineage is null ? [] : CheckNoNulls(ReadJson(lineage, HubJsonContext.Store.ListLineageStep, source), l => l.Relation is not null && l.Source is not null, "lineage", source),
            ModelCard = card is null ? null : ReadText(card),
            Notice = notice is null ? null : ReadText(notice),
        };
    }

    /// <summary>
    /// Files a manifest given as bytes (a pull stores the registry's bytes unchanged, so the digest
    /// matches). Every blob it names must already be in the store with the size it says, and its model
    /// and adapter layers must open with the engine's GGUF parser.
    /// </summary>
    /// <exception cref="HubException">Not a valid manifest, or a blob is missing or of the wrong size.</exception>
    /// <exception cref="Core.Gguf.GgufFormatException">A model or adapter layer is not a valid GGUF file.</exception>
    public StoredManifest WriteManifest(ModelName name, ReadOnlySpan<byte> bytes)
    {
        ArgumentNullException.ThrowIfNull(name);
        byte[] raw = bytes.ToArray();
        Manifest manifest = Manifest.Parse(raw, name.DisplayShortest());
        foreach (ManifestLayer layer in manifest.Layers.Where(l => l.MediaType is MediaTypes.Model or MediaTypes.Adapter))
        {
            if (!Blobs.Exists(layer.Digest))
            {
                throw new HubException($"cannot write {name.DisplayShortest()}: blob {layer.Digest} ({layer.MediaType}) is not in the store");
            }
            ModelFacts.Read(Blobs.PathOf(layer.Digest));
        }
        using StoreLock _ = StoreLock.Acquire(ModelsDirectory, s_lockTimeout);
        return WriteManifestLocked(name, manifest, raw);
    }

    /// <summary>Files a manifest (serialized compactly). See <see cref="WriteManifest(ModelName, ReadOnlySpan{byte})"/>.</summary>
    public StoredManifest WriteManifest(ModelName name, Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return WriteManifest(name, manifest.ToJson());
    }

    /// <summary>Gives a stored model a second name: the same manifest bytes (so the same ID) under <paramref name="destination"/>.</summary>
    public StoredManifest Copy(string source, string destination)
    {
        ModelName from = ModelName.Parse(source);
        ModelName to = ModelName.Parse(destination);
        StoredManifest m = Get(from);
        using StoreLock _ = StoreLock.Acquire(ModelsDirectory, s_lockTimeout);
        return WriteManifestLocked(to, m.Manifest, m.Bytes);
    }

    private StoredManifest WriteManifestLocked(ModelName name, Manifest manifest, byte[] raw)
    {
        foreach (ManifestLayer layer in manifest.Blobs)
        {
            if (!Blobs.TryGetSize(layer.Digest, out long size))
            {
                throw new HubException($"cannot write {name.DisplayShortest()}: blob {layer.Digest} ({layer.MediaType}) is not in the store");
            }
            if (size != layer.Size)
            {
                throw new HubException($"cannot write {name.DisplayShortest()}: blob {layer.Digest} is {size:N0} bytes but the manifest says {layer.Size:N0}");
            }
        }
        string path = LocateManifest(name) ?? ManifestPath(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = Path.Combine(Path.GetDirectoryName(path)!, BlobStore.NewTemporaryName());
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                f.Write(raw);
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            BlobStore.TryDelete(temp);
        }
        return ReadManifest(path, name);
    }

    /// <summary>The manifest file for a name: the exact path, else one whose segments match case-insensitively; null when none.</summary>
    private string? LocateManifest(ModelName name)
    {
        string exact = ManifestPath(name);
        if (File.Exists(exact))
        {
            return exact;
        }
        string dir = ManifestsDirectory;
        string[] segments = name.PathSegments();
        for (int level = 0; level < segments.Length; level++)
        {
            if (!Directory.Exists(dir))
            {
                return null;
            }
            string? match = (level < segments.Length - 1 ? Directory.EnumerateDirectories(dir) : Directory.EnumerateFiles(dir))
                .FirstOrDefault(p => string.Equals(Path.GetFileName(p), segments[level], StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                return null;
            }
            dir = match;
        }
        return dir;
    }

    /// <summary>Every <c>manifests/host/namespace/model/tag</c> file whose four segments are a valid name.</summary>
    private IEnumerable<(ModelName Name, string Path)> EnumerateManifestFiles()
    {
        if (!Directory.Exists(ManifestsDirectory))
        {
            yield break;
        }
        foreach (string host in Directory.EnumerateDirectories(ManifestsDirectory))
        {
            foreach (string ns in Directory.EnumerateDirectories(host))
            {
                foreach (string model in Directory.EnumerateDirectories(ns))
                {
                    foreach (string tag in Directory.EnumerateFiles(model))
                    {
                        string[] parts = [Path.GetFileName(host), Path.GetFileName(ns), Path.GetFileName(model), Path.GetFileName(tag)];
                        if (parts.Select((p, i) => ModelName.IsValidSegment(i, p)).All(ok => ok)
                            && ModelName.TryParse($"{parts[0]}/{parts[1]}/{parts[2]}:{parts[3]}", out ModelName? name))
                        {
                            yield return (name, tag);
                        }
                    }
                }
            }
        }
    }

    private StoredManifest ReadManifest(string path) =>
        ReadManifest(path, NameFromPath(path));

    private StoredManifest ReadManifest(string path, ModelName name)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            throw new HubException($"manifest {path} is a symbolic link; the store holds only regular files");
        }
        if (info.Length > Manifest.MaxBytes)
        {
            throw new HubException($"manifest {path} is {info.Length:N0} bytes; at most {Manifest.MaxBytes:N0} are accepted");
        }
        byte[] raw = File.ReadAllBytes(path);
        Manifest manifest = Manifest.Parse(raw, path);
        return new StoredManifest(name, manifest, Digest.Of(raw), raw, path, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero));
    }

    private ModelName NameFromPath(string path)
    {
        string relative = Path.GetRelativePath(ManifestsDirectory, path);
        string[] s = relative.Split(Path.DirectorySeparatorChar);
        return s.Length == 4 && ModelName.TryParse($"{s[0]}/{s[1]}/{s[2]}:{s[3]}", out ModelName? n)
            ? n
            : throw new HubException($"{path} is not a manifest path of the store");
    }

    private ImageConfig ReadConfig(StoredManifest m)
    {
        if (m.Manifest.Config.Size > MaxConfigBytes)
        {
            throw new HubException($"config blob {m.Manifest.Config.Digest} of {m.Name.DisplayShortest()} is {m.Manifest.Config.Size:N0} bytes; at most {MaxConfigBytes:N0} are read");
        }
        return ReadJson(m.Manifest.Config, HubJsonContext.Store.ImageConfig, m.Name.DisplayShortest());
    }

    private byte[] ReadBytes(ManifestLayer layer)
    {
        if (layer.Size > MaxTextLayerBytes)
        {
            throw new HubException($"layer {layer.Digest} ({layer.MediaType}) is {layer.Size:N0} bytes; at most {MaxTextLayerBytes:N0} are read");
        }
        using FileStream s = Blobs.OpenRead(layer.Digest);
        if (s.Length > MaxTextLayerBytes)
        {
            throw new HubException($"blob {layer.Digest} is {s.Length:N0} bytes; at most {MaxTextLayerBytes:N0} are read");
        }
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    private string ReadText(ManifestLayer layer) => Blobs.ReadText(layer.Digest, MaxTextLayerBytes);

    private static List<T> CheckNoNulls<T>(List<T> items, Func<T, bool> complete, string what, string source)
        where T : class =>
        items.All(i => i is not null && complete(i)) ? items : throw new HubException($"the {what} layer of {source} has an empty or incomplete entry");

    private T ReadJson<T>(ManifestLayer layer, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(ReadBytes(layer), type)
                ?? throw new HubException($"{layer.MediaType} layer of {source} is JSON null");
        }
        catch (JsonException e)
        {
            throw new HubException($"{layer.MediaType} layer of {source} is not valid: {e.Message}", e);
        }
    }
}
