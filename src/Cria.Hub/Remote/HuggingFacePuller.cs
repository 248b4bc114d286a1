using System.Net.Http.Headers;
using System.Text;

using Cria.Hub.Blobs;
using Cria.Hub.Cards;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

namespace Cria.Hub.Remote;

/// <summary>
/// Pulls one GGUF file of a Hugging Face repository through the Hub's HTTP API: the repository's files
/// and commit (<c>/api/models/{repo}/revision/main?blobs=true</c>), the file's LFS SHA-256 (from there or
/// the tree API), a <c>HEAD</c> on <c>/{repo}/resolve/{commit}/{file}</c> to cross-check
/// <c>X-Repo-Commit</c>, <c>X-Linked-Etag</c> and <c>X-Linked-Size</c>, then the download of that pinned
/// URL. The weights are checked against the LFS SHA-256 before they are visible; README.md's front matter
/// gives the licence and base model, and the lineage records the pinned URL with the digest.
/// Reference: huggingface_hub file_download.py (get_hf_file_metadata, etag rules), hf_api.py (model_info, list_repo_tree).
/// </summary>
internal sealed class HuggingFacePuller(ModelStore store, PullOptions options)
{
    private const int MaxApiBytes = 32 << 20;
    private const int MaxTextFileBytes = 1 << 20;
    private const int MaxBaseModels = 8;
    private static readonly string[] s_licenseFiles = ["LICENSE", "LICENSE.md", "LICENSE.txt"];

    public async Task<PullResult> PullAsync(HuggingFaceReference reference, IProgress<PullProgress>? progress, CancellationToken cancel)
    {
        Uri endpoint = RemoteAddress.ParseEndpoint(options.HuggingFaceEndpoint, options.Insecure, "the Hugging Face endpoint");
        using var http = new RemoteHttp(options, endpoint, options.HuggingFaceToken);
        string repo = $"{reference.Owner}/{reference.Repository}";
        string repoPath = $"{Uri.EscapeDataString(reference.Owner)}/{Uri.EscapeDataString(reference.Repository)}";
        var warnings = new List<string>();

        // 1. The repository's files and the commit "main" is at now: everything after is pinned to it.
        progress?.Report(new PullProgress("pulling repository info", repo, 0, 0));
        HfModelInfo info;
        try
        {
            info = await http.GetJsonAsync(new Uri(endpoint, $"api/models/{repoPath}/revision/main?blobs=true"), MaxApiBytes,
                $"repository info of {repo}", HuggingFaceJsonContext.Default.HfModelInfo, cancel).ConfigureAwait(false);
        }
        catch (RemoteStatusException e) when (e.Status is 401 or 404)
        {
            throw new ModelNotFoundException($"{repo} not found on {endpoint.Authority} (a private or gated repository needs HF_TOKEN): {e.Message}", e);
        }
        string commit = CheckRevision(info.Sha, repo);
        List<RepoFile> files = Files(info, repo);
        RepoFile chosen = reference.File is null
            ? HuggingFaceFiles.Choose(files, reference.Quant, repo)
            : files.FirstOrDefault(f => f.Path == reference.File)
                ?? throw new ModelNotFoundException($"{repo} has no file {reference.File}; its GGUF files: {string.Join(", ", files.Where(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)).Select(f => f.Path))}");
        if (chosen.Sha256 is null || chosen.Size is null)
        {
            chosen = await FromTreeAsync(http, endpoint, repoPath, commit, chosen, cancel).ConfigureAwait(false);
        }

        // 2. HEAD the pinned file: the commit, LFS etag and size must agree with the listing.
        string filePath = RemoteAddress.EscapePath(chosen.Path);
        var fileUrl = new Uri(endpoint, $"{repoPath}/resolve/{commit}/{filePath}");
        (string sha256, long size) = await CheckFileAsync(http, fileUrl, commit, chosen, repo, cancel).ConfigureAwait(false);
        Digest digest = Digest.Parse(Digest.Prefix + sha256);

        // 3. The weights (resumable, verified), then the card and licence (small, best effort).
        var downloader = new BlobDownloader(http, store.Blobs);
        Directory.CreateDirectory(store.Blobs.Directory);
        using WriterLock writers = WriterLock.EnterShared(store.Blobs.Directory); // until the manifest names the blobs (see WriterLock)
        BlobInfo weights = await downloader.DownloadAsync(digest, size, fileUrl, progress, cancel).ConfigureAwait(false);
        string? readme = await TextFileAsync(http, endpoint, repoPath, commit, files, ["README.md"], warnings, cancel).ConfigureAwait(false);
        string? licenseText = await TextFileAsync(http, endpoint, repoPath, commit, files, s_licenseFiles, warnings, cancel).ConfigureAwait(false);
        FrontMatterDocument card = FrontMatter.Read(readme);
        string? licenseId = card.Scalar("license") is string l && l.Length > 0
            ? (l == "other" && card.Scalar("license_name") is string ln && ln.Length > 0 ? ln : l)
            : null;

        progress?.Report(new PullProgress("writing manifest", reference.StoreName.DisplayShortest(), 0, 0));
        var recipe = new ModelRecipe
        {
            From = ModelSource.FromBlob(digest, fileUrl.ToString()),
            ModelCard = readme,
            Licenses = licenseText is not null ? [licenseText] : licenseId is not null ? [licenseId] : [],
            Upstream = Upstream(card, warnings),
        };
        try
        {
            StoredManifest stored = store.Create(reference.StoreName, recipe, null, cancel);
            return new PullResult
            {
                Stored = stored,
                Source = fileUrl.ToString(),
                Revision = commit,
                Downloaded = weights.Created ? weights.Size : 0,
                Warnings = warnings,
            };
        }
        catch (Exception e) when (e is HubException or Core.Gguf.GgufFormatException)
        {
            if (weights.Created)
            {
                store.RemoveUnreferencedBlobs([digest]); // verified, but not a model the engine reads
            }
            throw;
        }
    }

    /// <summary>A commit id: 40 (git SHA-1) to 64 lowercase hex digits, so it can go into URLs and the lineage as it is.</summary>
    private static string CheckRevision(string? sha, string repo)
    {
        if (sha is null || sha.Length is < 40 or > 64 || !sha.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            throw new HubException($"repository info of {repo} has no valid commit id (\"sha\"); cannot pin the revision");
        }
        return sha;
    }

    private static List<RepoFile> Files(HfModelInfo info, string repo)
    {
        var files = new List<RepoFile>();
        foreach (HfSibling? s in info.Siblings ?? [])
        {
            if (s?.RFilename is not string path || path.Length is 0 or > 1000)
            {
                continue;
            }
            if (path.Split('/').Any(seg => !HuggingFaceReference.IsSafeSegment(seg)))
            {
                continue; // names Cria would not request; never picked
            }
            long? size = s.Lfs?.Size ?? s.Size;
            if (size < 0)
            {
                throw new HubException($"repository info of {repo} gives {path} a negative size");
            }
            files.Add(new RepoFile(path, size, Sha256Of(s.Lfs)));
        }
        return files;
    }

    private static string? Sha256Of(HfLfs? lfs)
    {
        string? h = lfs?.Sha256 ?? lfs?.Oid;
        return h is { Length: 64 } && h.All(char.IsAsciiHexDigit) ? h.ToLowerInvariant() : null;
    }

    /// <summary>Fills in a file's LFS SHA-256 and size from <c>/api/models/{repo}/tree/{commit}/{folder}</c>.</summary>
    private static async Task<RepoFile> FromTreeAsync(RemoteHttp http, Uri endpoint, string repoPath, string commit, RepoFile file, CancellationToken cancel)
    {
        int slash = file.Path.LastIndexOf('/');
        string folder = slash < 0 ? "" : "/" + RemoteAddress.EscapePath(file.Path[..slash]);
        List<HfTreeEntry?> tree = await http.GetJsonAsync(new Uri(endpoint, $"api/models/{repoPath}/tree/{commit}{folder}"), MaxApiBytes,
            $"file list of {repoPath}", HuggingFaceJsonContext.Default.ListHfTreeEntry, cancel).ConfigureAwait(false);
        HfTreeEntry? entry = tree.FirstOrDefault(e => e?.Path == file.Path);
        return entry is null ? file : file with { Size = file.Size ?? entry.Lfs?.Size ?? entry.Size, Sha256 = file.Sha256 ?? Sha256Of(entry.Lfs) };
    }

    /// <summary>HEAD on the pinned resolve URL (same-origin redirects only: the first answer carries the LFS headers).</summary>
    private static async Task<(string Sha256, long Size)> CheckFileAsync(RemoteHttp http, Uri fileUrl, string commit, RepoFile file, string repo, CancellationToken cancel)
    {
        string what = $"{file.Path} in {repo}";
        return await http.RetryAsync(what, async c =>
        {
            using HttpResponseMessage r = await http.SendAsync(HttpMethod.Head, fileUrl, req => req.Headers.AcceptEncoding.ParseAdd("identity"), RedirectMode.SameOrigin, c).ConfigureAwait(false);
            if ((int)r.StatusCode is not (>= 300 and < 400))
            {
                await RemoteHttp.ThrowForStatusAsync(r, what, c).ConfigureAwait(false);
            }
            string? repoCommit = Header(r.Headers, "X-Repo-Commit");
            if (repoCommit is not null && !string.Equals(repoCommit, commit, StringComparison.OrdinalIgnoreCase))
            {
                throw new HubException($"{what}: the server says revision {Digest.Printable(repoCommit)}, but the repository info said {commit}");
            }
            string? etag = Unquote(Header(r.Headers, "X-Linked-Etag") ?? r.Headers.ETag?.Tag);
            string? etagSha = etag is { Length: 64 } && etag.All(char.IsAsciiHexDigit) ? etag.ToLowerInvariant() : null;
            if (file.Sha256 is not null && etagSha is not null && file.Sha256 != etagSha)
            {
                throw new HubException($"{what}: the file's etag {etagSha} is not its LFS sha256 {file.Sha256}");
            }
            string sha = file.Sha256 ?? etagSha
                ?? throw new HubException($"{what} has no SHA-256 (not an LFS file, no sha256 etag), so it cannot be verified; refusing to pull it");
            long? linkedSize = long.TryParse(Header(r.Headers, "X-Linked-Size"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ls)
                ? ls
                : r.StatusCode == System.Net.HttpStatusCode.OK ? r.Content.Headers.ContentLength : null;
            if (file.Size is long listed && linkedSize is long linked && listed != linked)
            {
                throw new HubException($"{what}: the server says {linked:N0} bytes, the file list {listed:N0}");
            }
            long size = file.Size ?? linkedSize ?? throw new HubException($"{what}: the server gives no size for the file");
            return (sha, size);
        }, cancel).ConfigureAwait(false);
    }

    /// <summary>The first of <paramref name="names"/> the repository has at its root, as text (≤ 1 MiB); null when none, or too big (with a warning).</summary>
    private static async Task<string?> TextFileAsync(RemoteHttp http, Uri endpoint, string repoPath, string commit, List<RepoFile> files,
        string[] names, List<string> warnings, CancellationToken cancel)
    {
        RepoFile? file = files.FirstOrDefault(f => names.Contains(f.Path, StringComparer.OrdinalIgnoreCase));
        if (file is null)
        {
            return null;
        }
        try
        {
            (byte[] body, _) = await http.GetBytesAsync(new Uri(endpoint, $"{repoPath}/resolve/{commit}/{RemoteAddress.EscapePath(file.Path)}"),
                MaxTextFileBytes, $"{file.Path} of {repoPath}", null, cancel).ConfigureAwait(false);
            return new UTF8Encoding(false, false).GetString(body);
        }
        catch (HubException e)
        {
            warnings.Add($"{file.Path} was not stored: {e.Message}");
            return null;
        }
    }

    /// <summary>The card's <c>base_model</c> entries as lineage steps before the import (relation from <c>base_model_relation</c>).</summary>
    private static List<LineageStep> Upstream(FrontMatterDocument card, List<string> warnings)
    {
        string? relation = card.Scalar("base_model_relation");
        string rel = relation is LineageRelations.Adapter or LineageRelations.Finetune or LineageRelations.Merge or LineageRelations.Quantized
            ? relation
            : LineageRelations.Base;
        var steps = new List<LineageStep>();
        foreach (string b in card.List("base_model").Take(MaxBaseModels))
        {
            if (ModelName.TryParse($"hf.co/{b.Trim()}", out ModelName? name) && b.Trim().Count(c => c == '/') == 1)
            {
                steps.Add(new LineageStep { Relation = rel, Source = $"hf.co/{name.Namespace}/{name.Model}", Created = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()) });
            }
            else
            {
                warnings.Add($"base_model \"{Digest.Printable(b.Length > 100 ? b[..100] : b)}\" in README.md is not an owner/repo name; left out of the lineage");
            }
        }
        return steps;
    }

    private static string? Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out IEnumerable<string>? v) ? v.FirstOrDefault()?.Trim() : null;

    /// <summary>An etag without <c>W/</c> and quotes (huggingface_hub's _normalize_etag).</summary>
    private static string? Unquote(string? etag) =>
        etag is null ? null : (etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag).Trim('"');
}
