using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

using Cria.Core.Gguf;
using Cria.Hub.Blobs;
using Cria.Hub.Cards;
using Cria.Hub.Manifests;
using Cria.Hub.Modelfiles;

namespace Cria.Hub.Store;

public sealed partial class ModelStore
{
    /// <summary>
    /// Creates (or replaces) <paramref name="name"/> from a parsed Modelfile whose FROM and ADAPTER paths
    /// are relative to <paramref name="baseDirectory"/> (the Modelfile's folder).
    /// </summary>
    public StoredManifest Create(ModelName name, Modelfile modelfile, string baseDirectory, IProgress<StoreProgress>? progress = null, CancellationToken cancel = default) =>
        Create(name, ToRecipe(modelfile, baseDirectory), progress, cancel);

    /// <summary>
    /// Creates (or replaces) a model: validates everything it can before writing (GGUF headers of the
    /// weights and adapters, the base's blobs, parameter values), then stores the blobs (the weights
    /// hashed while copied and validated again as stored), then writes the manifest. If anything
    /// fails, the manifest is not written and the blobs this call added are removed again. When a
    /// model of that name existed, its blobs that nothing refers to any more are deleted.
    /// </summary>
    /// <exception cref="HubException">A bad recipe (missing base, not a model GGUF, adapter for another family…).</exception>
    /// <exception cref="Core.Gguf.GgufFormatException">The weights or an adapter are not a valid GGUF file.</exception>
    public StoredManifest Create(ModelName name, ModelRecipe recipe, IProgress<StoreProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(recipe);
        CheckRecipe(recipe);
        var created = new List<Digest>();
        try
        {
            return Build(name, recipe, created, progress, cancel);
        }
        catch
        {
            RemoveUnreferenced(created);
            throw;
        }
    }

    private StoredManifest Build(ModelName name, ModelRecipe recipe, List<Digest> created, IProgress<StoreProgress>? progress, CancellationToken cancel)
    {
        DateTimeOffset now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        progress?.Report(new StoreProgress("checking sources", 0, 0));

        // 1. Everything that can be checked without writing: the base, the weights' and adapters' headers.
        var layers = new ComposedLayers();
        ModelParameters parameters = ModelParameters.Empty;
        var lineage = new List<LineageStep>();
        var licenseTexts = new List<string>();
        ImageConfig config;
        ModelFacts? weights = null;
        string? weightsPath = null;
        string origin;
        switch (recipe.From)
        {
            case StoredModelSource s:
                ModelDetails b = Describe(Get(s.Name));
                origin = b.Name.DisplayShortest();
                layers.Inherit(b.Stored, origin, Blobs);
                config = b.Config;
                parameters = b.Parameters;
                lineage.AddRange(b.Lineage);
                lineage.Add(new LineageStep { Relation = LineageRelations.Base, Source = origin, Digest = layers.Model!.Digest, Created = now });
                licenseTexts.AddRange(b.Licenses);
                break;
            case FileModelSource f:
                weightsPath = f.Path;
                if (!File.Exists(weightsPath))
                {
                    throw new HubException($"model file not found: {weightsPath}");
                }
                weights = ReadModelFacts(weightsPath);
                origin = weightsPath;
                config = ConfigFrom(weights);
                break;
            case BlobModelSource bl:
                weightsPath = Blobs.PathOf(bl.Digest);
                if (!Blobs.Exists(bl.Digest))
                {
                    throw new HubException($"blob {bl.Digest} is not in the store");
                }
                weights = ReadModelFacts(weightsPath);
                origin = bl.Origin;
                config = ConfigFrom(weights);
                break;
            default:
                throw new ArgumentException($"unknown model source {recipe.From.GetType().Name}", nameof(recipe));
        }
        var adapters = recipe.Adapters.Select(a => (Path: a, Facts: ReadAdapterFacts(a, config.ModelFamily))).ToList();
        if (adapters.Count > 0)
        {
            CheckAdaptersFit(adapters.Select(a => a.Path), weightsPath ?? Blobs.PathOf(layers.Model!.Digest));
        }
        cancel.ThrowIfCancellationRequested();

        // 2. Blobs: the weights first (the big copy), then adapters, then the small layers. They are
        // orphans until the manifest is written: the writer lock keeps cria doctor --repair off them.
        using WriterLock writers = WriterLock.EnterShared(Blobs.Directory);
        if (weights is not null)
        {
            Digest? known = recipe.From is BlobModelSource bs ? bs.Digest : DigestOfStoredBlob(weightsPath!);
            BlobInfo model = PutTracked(created, () => Blobs.PutFile(weightsPath!, known, tmp => ReadModelFacts(tmp), Bytes(progress, "copying model", weightsPath!), cancel));
            layers.SetModel(Layer(MediaTypes.Model, model));
            lineage.AddRange(recipe.Upstream);
            lineage.Add(new LineageStep { Relation = recipe.ImportRelation, Source = origin, Digest = model.Digest, Created = now });
            if (recipe.Licenses.Count == 0 && weights.License is not null)
            {
                licenseTexts.Add(weights.License);
                layers.AddLicense(Layer(MediaTypes.License, PutTracked(created, () => Blobs.PutBytes(Encoding.UTF8.GetBytes(weights.License)))));
            }
        }
        foreach ((string path, ModelFacts _) in adapters)
        {
            BlobInfo a = PutTracked(created, () => Blobs.PutFile(path, DigestOfStoredBlob(path), tmp => ReadAdapterFacts(tmp, config.ModelFamily), Bytes(progress, "copying adapter", path), cancel));
            layers.Adapters.Add(Layer(MediaTypes.Adapter, a));
            lineage.Add(new LineageStep { Relation = LineageRelations.Adapter, Source = path, Digest = a.Digest, Created = now });
        }
        cancel.ThrowIfCancellationRequested();
        progress?.Report(new StoreProgress("writing layers", 0, 0));
        if (!string.IsNullOrEmpty(recipe.Template))
        {
            layers.Template = Layer(MediaTypes.Template, PutText(created, recipe.Template));
        }
        if (!string.IsNullOrEmpty(recipe.System))
        {
            layers.System = Layer(MediaTypes.System, PutText(created, recipe.System));
        }
        foreach (string license in recipe.Licenses.Where(l => l.Length > 0))
        {
            licenseTexts.Add(license);
            layers.AddLicense(Layer(MediaTypes.License, PutText(created, license)));
        }
        if (recipe.Parameters.Count > 0)
        {
            ModelParameters merged = parameters.Merge(recipe.Parameters);
            layers.Params = Layer(MediaTypes.Params, PutTracked(created, () => Blobs.PutBytes(merged.ToJson())));
        }
        if (recipe.Messages.Count > 0)
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(recipe.Messages.ToList(), HubJsonContext.Store.ListChatMessage);
            layers.Messages = Layer(MediaTypes.Messages, PutTracked(created, () => Blobs.PutBytes(json)));
        }
        if (LicenseTerms.NoticeText(licenseTexts) is { } notice)
        {
            // The licences' required Notice lines travel with the model (Llama's §1.b.iii, Gemma's notice).
            layers.Notice = Layer(MediaTypes.Notice, PutText(created, notice));
        }
        byte[] lineageJson = JsonSerializer.SerializeToUtf8Bytes(lineage, HubJsonContext.Store.ListLineageStep);
        layers.Lineage = Layer(MediaTypes.Lineage, PutTracked(created, () => Blobs.PutBytes(lineageJson)));
        string card = recipe.ModelCard
            ?? ModelCard.Generate(name.DisplayShortest(), config, [.. licenseTexts.Select(LicenseNames.ShortName)], lineage);
        layers.Card = Layer(MediaTypes.ModelCard, PutText(created, card));
        byte[] configJson = JsonSerializer.SerializeToUtf8Bytes(config, HubJsonContext.Store.ImageConfig);
        ManifestLayer configLayer = Layer(MediaTypes.Config, PutTracked(created, () => Blobs.PutBytes(configJson)));

        // 3. The manifest, under the lock; then the replaced manifest's blobs that nothing uses any more.
        var manifest = new Manifest { Config = configLayer, Layers = layers.InOrder() };
        cancel.ThrowIfCancellationRequested();
        progress?.Report(new StoreProgress("writing manifest", 0, 0));
        using StoreLock _ = StoreLock.Acquire(ModelsDirectory, s_lockTimeout);
        StoredManifest? previous = null;
        try
        {
            previous = Find(name);
        }
        catch (HubException)
        {
            // an unreadable manifest of that name is simply replaced
        }
        StoredManifest written = WriteManifestLocked(name, manifest, manifest.ToJson());
        if (previous is not null && previous.Digest != written.Digest)
        {
            HashSet<Digest>? inUse = ReferencedBlobs([]);
            foreach (ManifestLayer old in previous.Manifest.Blobs.Where(l => inUse is not null && !inUse.Contains(l.Digest)))
            {
                Blobs.Delete(old.Digest);
            }
        }
        return written;
    }

    private static void CheckRecipe(ModelRecipe recipe)
    {
        if (recipe.ImportRelation is not (LineageRelations.Import or LineageRelations.Quantized or LineageRelations.Finetune or LineageRelations.Merge))
        {
            throw new HubException($"the relation of imported weights must be import, quantized, finetune or merge, got \"{Digest.Printable(recipe.ImportRelation)}\"");
        }
        foreach (LineageStep step in recipe.Upstream)
        {
            if (step is null || step.Source is null || !LineageRelations.IsKnown(step.Relation ?? ""))
            {
                throw new HubException("an upstream lineage step needs a known relation and a source");
            }
        }
        foreach ((string what, string? text) in new[] { ("TEMPLATE", recipe.Template), ("SYSTEM", recipe.System), ("model card", recipe.ModelCard) }
            .Concat(recipe.Licenses.Select(l => ("LICENSE", (string?)l))))
        {
            if (text is not null && Encoding.UTF8.GetByteCount(text) > MaxTextLayerBytes)
            {
                throw new HubException($"{what} is {Encoding.UTF8.GetByteCount(text):N0} bytes of UTF-8; at most {MaxTextLayerBytes:N0} are allowed");
            }
        }
        foreach (ChatMessage m in recipe.Messages)
        {
            if (m.Role is not ("system" or "user" or "assistant"))
            {
                throw new HubException($"MESSAGE role must be system, user or assistant, got \"{Digest.Printable(m.Role ?? "")}\"");
            }
        }
    }

    /// <summary>Validates weights: a GGUF the engine parses, of a model (not an adapter).</summary>
    private static ModelFacts ReadModelFacts(string path)
    {
        ModelFacts facts = ModelFacts.Read(path);
        if (facts.Type is "adapter")
        {
            throw new HubException($"{path} is a LoRA adapter (general.type = adapter); use it with ADAPTER over a base model");
        }
        if (facts.Type is not (null or "model"))
        {
            throw new HubException($"{path} has general.type \"{Digest.Printable(facts.Type)}\"; only models can be the weights of a model");
        }
        return facts;
    }

    /// <summary>Validates an adapter: a GGUF whose general.type, if any, is "adapter", for the base's family.</summary>
    private static ModelFacts ReadAdapterFacts(string path, string family)
    {
        if (!File.Exists(path))
        {
            throw new HubException($"adapter file not found: {path}");
        }
        ModelFacts facts = ModelFacts.Read(path);
        if (facts.Type is not "adapter")
        {
            throw new HubException(facts.Type is null
                ? $"ADAPTER {path} is not a LoRA adapter (it has no general.type; a GGUF adapter says \"adapter\"): give a model's weights with FROM"
                : $"ADAPTER {path} has general.type \"{Digest.Printable(facts.Type)}\", not \"adapter\"");
        }
        if (facts.Architecture.Length > 0 && family.Length > 0 && !string.Equals(facts.Architecture, family, StringComparison.Ordinal))
        {
            throw new HubException($"ADAPTER {path} is for {facts.Architecture} models, but the base model is {family}");
        }
        return facts;
    }

    /// <summary>
    /// Checks each adapter as the engine will apply it, against the base it is stored over (tensor
    /// names, pairs, shapes, rank, architecture), so a layer that could never load is refused when it is
    /// created rather than when it is used. A base whose architecture the engine cannot run gets the
    /// header checks only.
    /// </summary>
    private static void CheckAdaptersFit(IEnumerable<string> adapters, string baseWeights)
    {
        Core.Models.ModelConfig baseConfig;
        try
        {
            using Core.Gguf.GgufFile file = Core.Gguf.GgufFile.Open(baseWeights);
            baseConfig = Core.Models.ModelConfig.FromGguf(file);
        }
        catch (Core.Models.ModelException)
        {
            return;
        }
        foreach (string adapter in adapters)
        {
            try
            {
                _ = Core.Models.LoraAdapter.Load(adapter, baseConfig);
            }
            catch (Core.Models.ModelException e)
            {
                throw new HubException($"ADAPTER {adapter} cannot be applied to the base model: {e.Message}");
            }
        }
    }

    private static ImageConfig ConfigFrom(ModelFacts facts) => new()
    {
        ModelFormat = "gguf",
        ModelFamily = facts.Architecture,
        ModelFamilies = facts.Architecture.Length > 0 ? [facts.Architecture] : null,
        ModelType = facts.ParameterSize,
        FileType = facts.QuantizationLevel,
        Architecture = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "386",
            Architecture.Arm => "arm",
            var other => other.ToString().ToLowerInvariant(),
        },
        OS = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "darwin" : OperatingSystem.IsWindows() ? "windows" : "unknown",
    };

    /// <summary>When a file is itself one of this store's blobs (FROM a path <c>cria show --modelfile</c> printed), its digest: it need not be copied.</summary>
    private Digest? DigestOfStoredBlob(string path) =>
        string.Equals(Path.GetDirectoryName(Path.GetFullPath(path)), Blobs.Directory, StringComparison.Ordinal)
        && Digest.TryParseFileName(Path.GetFileName(path), out Digest? d) ? d : null;

    private BlobInfo PutText(List<Digest> created, string text) => PutTracked(created, () => Blobs.PutBytes(Encoding.UTF8.GetBytes(text)));

    private static BlobInfo PutTracked(List<Digest> created, Func<BlobInfo> put)
    {
        BlobInfo info = put();
        if (info.Created)
        {
            created.Add(info.Digest);
        }
        return info;
    }

    private static ManifestLayer Layer(string mediaType, BlobInfo blob) => new() { MediaType = mediaType, Digest = blob.Digest, Size = blob.Size };

    private static ByteProgress? Bytes(IProgress<StoreProgress>? progress, string status, string path) =>
        progress is null ? null : new ByteProgress(progress, status, new FileInfo(path).Length);

    /// <summary>After a failed create: deletes the blobs it added that no manifest refers to.</summary>
    private void RemoveUnreferenced(List<Digest> created)
    {
        if (created.Count == 0)
        {
            return;
        }
        try
        {
            using StoreLock _ = StoreLock.Acquire(ModelsDirectory, s_lockTimeout);
            HashSet<Digest>? inUse = ReferencedBlobs([]);
            if (inUse is null)
            {
                return;
            }
            foreach (Digest d in created.Where(d => !inUse.Contains(d)))
            {
                Blobs.Delete(d);
            }
        }
        catch (Exception e) when (e is HubException or IOException or UnauthorizedAccessException)
        {
            // best effort: the original failure is what the caller needs to see
        }
    }

    /// <summary>Reports bytes copied as <see cref="StoreProgress"/>, synchronously.</summary>
    private sealed class ByteProgress(IProgress<StoreProgress> inner, string status, long total) : IProgress<long>
    {
        public void Report(long value) => inner.Report(new StoreProgress(status, value, total));
    }
}
