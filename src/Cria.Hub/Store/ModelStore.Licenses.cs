using Cria.Hub.Cards;
using Cria.Hub.Manifests;

namespace Cria.Hub.Store;

public sealed partial class ModelStore
{
    /// <summary>
    /// Why a manifest may not be distributed under <paramref name="target"/> (the licences' Notice and
    /// naming rules, <see cref="LicenseTerms.DistributionProblems"/>), read from its licence, Notice and
    /// lineage layers, whose blobs must be in this store. Used by <c>cria push</c> before it uploads and
    /// by the hub before it files a pushed manifest. Empty when nothing is wrong.
    /// </summary>
    public IReadOnlyList<string> DistributionProblems(ModelName target, Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(manifest);
        string source = target.DisplayShortest();
        foreach (ManifestLayer layer in manifest.Layers.Where(l => l.MediaType is MediaTypes.License or MediaTypes.Notice or MediaTypes.Lineage))
        {
            if (!Blobs.Exists(layer.Digest))
            {
                throw new HubException($"blob {layer.Digest} ({layer.MediaType}) is not in the store");
            }
        }
        List<string> licenses = [.. manifest.FindAll(MediaTypes.License).Select(ReadText)];
        ManifestLayer? notice = manifest.Find(MediaTypes.Notice);
        ManifestLayer? lineage = manifest.Find(MediaTypes.Lineage);
        IReadOnlyList<LineageStep> steps = lineage is null ? [] : ReadJson(lineage, HubJsonContext.Store.ListLineageStep, source);
        return LicenseTerms.DistributionProblems(target.Model, licenses, [.. steps.Where(s => s is not null)], notice is null ? null : ReadText(notice));
    }
}
