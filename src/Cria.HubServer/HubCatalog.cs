using Cria.Hub;
using Cria.Hub.Store;

namespace Cria.HubServer;

/// <summary>
/// The store as the hub's routes see it. A repository is a store <c>namespace/model</c> under any host:
/// <c>/v2/library/stories/…</c> and <c>/api/models/library/stories</c> both mean the store's
/// <c>library/stories</c> tags, whichever registry they were pulled from; when two hosts have the same
/// tag, the default host's (<c>registry.ollama.ai</c>, where <c>cria create</c> and pushes file models) wins,
/// then the alphabetically first. Names are validated with <see cref="ModelName"/> before any lookup.
/// </summary>
internal sealed class HubCatalog(ModelStore store)
{
    public ModelStore Store => store;

    /// <summary>Whether namespace and model are valid name parts (so no path can be built from anything else).</summary>
    public static bool IsValidRepository(string ns, string model) =>
        ModelName.TryParse($"{ns}/{model}", out ModelName? n)
        && string.Equals(n.Namespace, ns, StringComparison.Ordinal)
        && string.Equals(n.Model, model, StringComparison.Ordinal);

    public static bool IsValidTag(string tag) =>
        ModelName.TryParse($"x/x:{tag}", out ModelName? n) && string.Equals(n.Tag, tag, StringComparison.Ordinal);

    /// <summary>The repository's tags (one manifest each, by the host rule above), ordered by tag; damaged manifests are left out.</summary>
    public IReadOnlyList<StoredManifest> Tags(string ns, string model)
    {
        var result = new List<StoredManifest>();
        IEnumerable<IGrouping<string, ModelName>> byTag = store.Names()
            .Where(n => string.Equals(n.Namespace, ns, StringComparison.OrdinalIgnoreCase) && string.Equals(n.Model, model, StringComparison.OrdinalIgnoreCase))
            .GroupBy(n => n.Tag, StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (IGrouping<string, ModelName> tag in byTag)
        {
            ModelName chosen = tag
                .OrderBy(n => string.Equals(n.Host, ModelName.DefaultHost, StringComparison.OrdinalIgnoreCase) ? 0 : 1)
                .ThenBy(n => n.Host, StringComparer.Ordinal)
                .First();
            try
            {
                if (store.Find(chosen) is StoredManifest m)
                {
                    result.Add(m);
                }
            }
            catch (HubException)
            {
                // a damaged manifest is not served
            }
        }
        return result;
    }

    public StoredManifest? Tag(string ns, string model, string tag) =>
        Tags(ns, model).FirstOrDefault(m => string.Equals(m.Name.Tag, tag, StringComparison.OrdinalIgnoreCase));

    /// <summary>The name a push files a manifest under: the default host, the given namespace, model and tag.</summary>
    public static ModelName PushName(string ns, string model, string tag) => ModelName.Parse($"{ns}/{model}:{tag}");
}
