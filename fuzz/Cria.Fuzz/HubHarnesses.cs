using System.Text;

using Cria.Hub;
using Cria.Hub.Manifests;
using Cria.Hub.Store;
using Cria.HubServer;

namespace Cria.Fuzz;

/// <summary>
/// The hub's inputs: manifests (pushed by a tenant, pulled from a registry) and the names, tags and digests
/// that become paths in the store. Beyond "no unexpected exception", these check the promise that matters:
/// a path built from anything accepted stays inside the store's folder.
/// </summary>
public static class HubHarnesses
{
    private static readonly ModelStore s_store = new(Path.Combine(Path.GetTempPath(), "cria-fuzz-store"));

    /// <summary>A manifest as the hub's PUT and the puller parse one; every blob it names must map inside the blob folder.</summary>
    public static void OciManifest(byte[] input)
    {
        Manifest manifest;
        try
        {
            manifest = Manifest.Parse(input, "fuzz");
        }
        catch (HubException)
        {
            return;
        }
        foreach (ManifestLayer layer in manifest.Blobs)
        {
            Inside(s_store.Blobs.Directory, s_store.Blobs.PathOf(layer.Digest), $"blob {layer.Digest}");
        }
        // What is stored is ToJson's bytes: they must parse again to the same blobs.
        Manifest again = Manifest.Parse(manifest.ToJson(), "fuzz (stored)");
        if (!again.Blobs.Select(l => l.Digest).SequenceEqual(manifest.Blobs.Select(l => l.Digest)))
        {
            throw new FuzzFinding("a manifest's blobs changed when it was stored and read back");
        }
    }

    /// <summary>
    /// Each line of the input as a model name, a digest, a blob file name, and (split at '/' and ':') a route's
    /// namespace, model and tag: whatever is accepted must give a manifest or blob path inside the store.
    /// </summary>
    public static void HubPath(byte[] input)
    {
        foreach (string line in Encoding.UTF8.GetString(input).Split('\n'))
        {
            if (ModelName.TryParse(line, out ModelName? name, out string? error))
            {
                Inside(s_store.ManifestsDirectory, s_store.ManifestPath(name), $"name \"{line}\"");
                if (!ModelName.TryParse(name.ToString(), out ModelName? again, out _) || again != name)
                {
                    throw new FuzzFinding($"name \"{line}\" does not survive printing as \"{name}\"");
                }
            }
            else if (string.IsNullOrEmpty(error))
            {
                throw new FuzzFinding($"name \"{line}\" was refused without a reason");
            }
            if (Digest.TryParse(line, out Digest? digest))
            {
                Inside(s_store.Blobs.Directory, s_store.Blobs.PathOf(digest), $"digest \"{line}\"");
            }
            if (Digest.TryParseFileName(line, out Digest? fromFile))
            {
                Inside(s_store.Blobs.Directory, s_store.Blobs.PathOf(fromFile), $"blob file \"{line}\"");
            }
            string[] parts = line.Split('/', ':');
            if (parts.Length == 3 && HubCatalog.IsValidRepository(parts[0], parts[1]) && HubCatalog.IsValidTag(parts[2]))
            {
                ModelName pushed = HubCatalog.PushName(parts[0], parts[1], parts[2]);
                Inside(s_store.ManifestsDirectory, s_store.ManifestPath(pushed), $"pushed repository \"{line}\"");
            }
        }
    }

    private static void Inside(string folder, string path, string what)
    {
        string full = Path.GetFullPath(path);
        if (!full.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal) || full.Length <= folder.Length + 1)
        {
            throw new FuzzFinding($"{what} maps to {full}, outside {folder}");
        }
    }
}
