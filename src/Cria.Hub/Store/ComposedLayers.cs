using Cria.Hub.Blobs;
using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

/// <summary>
/// The layers of a model being created, by role, so that a derivative's own layers replace or join
/// its base's by Ollama's rules, and <see cref="InOrder"/> lays them out the same way every time:
/// weights, other inherited layers (projectors…), adapters, template, system, licences, params,
/// messages, lineage, model card.
/// </summary>
internal sealed class ComposedLayers
{
    public ManifestLayer? Model { get; private set; }

    public List<ManifestLayer> Other { get; } = [];

    public List<ManifestLayer> Adapters { get; } = [];

    public ManifestLayer? Template { get; set; }

    public ManifestLayer? System { get; set; }

    public List<ManifestLayer> Licenses { get; } = [];

    /// <summary>The Notice file, written anew for every model from all of its licences.</summary>
    public ManifestLayer? Notice { get; set; }

    public ManifestLayer? Params { get; set; }

    public ManifestLayer? Messages { get; set; }

    public ManifestLayer? Lineage { get; set; }

    public ManifestLayer? Card { get; set; }

    /// <summary>Takes a stored base's layers (marked <c>from</c> it), except its lineage, card and Notice, which a derivative writes anew.</summary>
    public void Inherit(StoredManifest stored, string origin, BlobStore blobs)
    {
        foreach (ManifestLayer layer in stored.Manifest.Layers)
        {
            if (!blobs.TryGetSize(layer.Digest, out long size) || size != layer.Size)
            {
                throw new HubException($"base model {origin} is incomplete: blob {layer.Digest} ({layer.MediaType}) is missing or damaged; pull or re-create it");
            }
            ManifestLayer inherited = layer with { From = origin };
            switch (layer.MediaType)
            {
                case MediaTypes.Model when Model is not null:
                    throw new HubException($"base model {origin} has more than one model layer; Cria supports one");
                case MediaTypes.Model: Model = inherited; break;
                case MediaTypes.Adapter: Adapters.Add(inherited); break;
                case MediaTypes.Template or MediaTypes.Prompt: Template = inherited; break;
                case MediaTypes.System: System = inherited; break;
                case MediaTypes.License: AddLicense(inherited); break;
                case MediaTypes.Params: Params = inherited; break;
                case MediaTypes.Messages: Messages = inherited; break;
                case MediaTypes.Lineage or MediaTypes.ModelCard or MediaTypes.Notice: break;
                default: Other.Add(inherited); break;
            }
        }
        if (Model is null)
        {
            throw new HubException($"base model {origin} has no model layer ({MediaTypes.Model})");
        }
    }

    public void SetModel(ManifestLayer layer) => Model = layer;

    /// <summary>Adds a licence unless the same text is already there: licences only ever accumulate.</summary>
    public void AddLicense(ManifestLayer layer)
    {
        if (!Licenses.Any(l => l.Digest == layer.Digest))
        {
            Licenses.Add(layer);
        }
    }

    public List<ManifestLayer> InOrder()
    {
        var all = new List<ManifestLayer>();
        all.Add(Model ?? throw new InvalidOperationException("a model needs its weights"));
        all.AddRange(Other);
        all.AddRange(Adapters);
        AddIf(all, Template);
        AddIf(all, System);
        all.AddRange(Licenses);
        AddIf(all, Notice);
        AddIf(all, Params);
        AddIf(all, Messages);
        AddIf(all, Lineage);
        AddIf(all, Card);
        return all;
    }

    private static void AddIf(List<ManifestLayer> all, ManifestLayer? layer)
    {
        if (layer is not null)
        {
            all.Add(layer);
        }
    }
}
