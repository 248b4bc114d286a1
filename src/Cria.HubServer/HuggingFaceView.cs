using System.Security.Cryptography;
using System.Text;

using Cria.Hub;
using Cria.Hub.Cards;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

namespace Cria.HubServer;

/// <summary>One file of a repository as the hub serves it over the Hugging Face protocol.</summary>
/// <param name="Blob">The store blob of an LFS file (the weights); null for a file served from <paramref name="Content"/>.</param>
internal sealed record HfFile(string Name, long Size, string Sha256, Digest? Blob, byte[]? Content)
{
    public bool IsLfs => Blob is not null;

    /// <summary>git's object id of what the repository would hold: the file, or for LFS its pointer file (as the Hub's tree API reports).</summary>
    public string GitOid => GitBlobId(IsLfs ? Encoding.ASCII.GetBytes(LfsPointer) : Content!);

    public string LfsPointer => $"version https://git-lfs.github.com/spec/v1\noid sha256:{Sha256}\nsize {Size}\n";

    // git's object name is SHA-1 by definition; it identifies, it does not protect anything.
#pragma warning disable CA5350
    private static string GitBlobId(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
#pragma warning restore CA5350
}

/// <summary>
/// A store repository (<c>namespace/model</c>, every tag) as a Hugging Face model repository at one
/// revision: a GGUF file per tag, <c>{model}-{tag}.gguf</c> (an LFS file whose sha256 is the weights'
/// blob digest), and <c>README.md</c>, the model card of tag <c>latest</c> (else of the first tag) —
/// the stored card when the model has one, else one generated from its config and licences, with
/// Hugging Face front matter either way. The revision id (<see cref="Sha"/>, 40 hex digits) is a hash
/// of the file list, so it changes exactly when a file does; <c>main</c> names the current one.
/// </summary>
internal sealed record HuggingFaceView(string Owner, string Repository, string Sha, DateTimeOffset LastModified, IReadOnlyList<HfFile> Files, IReadOnlyList<string> Tags)
{
    public const string ReadmeName = "README.md";

    public static HuggingFaceView? Build(HubCatalog catalog, string owner, string repository)
    {
        IReadOnlyList<StoredManifest> tags = catalog.Tags(owner, repository);
        var files = new List<HfFile>();
        foreach (StoredManifest m in tags)
        {
            if (m.Manifest.Find(MediaTypes.Model) is ManifestLayer weights)
            {
                files.Add(new HfFile($"{m.Name.Model}-{m.Name.Tag}.gguf", weights.Size, weights.Digest.Hex, weights.Digest, null));
            }
        }
        if (files.Count == 0)
        {
            return null;
        }
        StoredManifest main = tags.FirstOrDefault(m => m.Name.Tag == ModelName.DefaultTag) ?? tags[0];
        byte[] readme = Encoding.UTF8.GetBytes(Card(catalog.Store, main));
        files.Add(new HfFile(ReadmeName, readme.Length, Convert.ToHexStringLower(SHA256.HashData(readme)), null, readme));
        files.Sort((a, b) => StringComparer.Ordinal.Compare(a.Name, b.Name));

        var id = new StringBuilder("cria-hub-revision 1\n");
        foreach (HfFile f in files)
        {
            id.Append(f.Name).Append(' ').Append(f.Sha256).Append('\n');
        }
        string sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id.ToString())))[..40];
        DateTimeOffset modified = tags.Max(t => t.Modified);
        string[] tagList = ["gguf", "cria", .. FrontMatter.Read(Encoding.UTF8.GetString(readme)).List("tags").Where(t => t is not ("gguf" or "cria")).Take(32)];
        return new HuggingFaceView(tags[0].Name.Namespace, tags[0].Name.Model, sha, modified, files, tagList);
    }

    /// <summary>The revision a request names: <c>main</c> or this view's id.</summary>
    public bool IsRevision(string revision) => revision == "main" || revision == Sha;

    private static string Card(ModelStore store, StoredManifest stored)
    {
        try
        {
            ModelDetails d = store.Describe(stored);
            return d.ModelCard ?? ModelCard.Generate(stored.Name.DisplayShortest(), d.Config, [.. d.Licenses.Select(LicenseNames.ShortName).Distinct()], d.Lineage);
        }
        catch (HubException)
        {
            // a layer is missing or unreadable: the weights are still served, with a bare card
            return ModelCard.Generate(stored.Name.DisplayShortest(), new ImageConfig(), [], []);
        }
    }
}
