using System.Globalization;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Cria.HubServer;

/// <summary>
/// The Hugging Face side of the hub (read-only): model info, the file tree, and
/// <c>GET|HEAD /{owner}/{repo}/resolve/{rev}/{file}</c> with Range, <c>ETag</c> = sha256,
/// <c>X-Repo-Commit</c>, and for LFS files <c>X-Linked-Etag</c>/<c>X-Linked-Size</c>, as huggingface_hub reads them.
/// A file is served only when its name is exactly one the <see cref="HuggingFaceView"/> lists.
/// </summary>
internal static class HuggingFaceRoutes
{
    public static void Map(IEndpointRouteBuilder app, HubCatalog catalog)
    {
        app.MapMethods("/api/models/{owner}/{repo}", ["GET", "HEAD"], (string owner, string repo, HttpContext http) => Info(catalog, owner, repo, "main", http));
        app.MapMethods("/api/models/{owner}/{repo}/revision/{rev}", ["GET", "HEAD"], (string owner, string repo, string rev, HttpContext http) => Info(catalog, owner, repo, rev, http));
        app.MapMethods("/api/models/{owner}/{repo}/tree/{rev}/{**path}", ["GET", "HEAD"], (string owner, string repo, string rev, string? path) => Tree(catalog, owner, repo, rev, path));
        app.MapMethods("/{owner}/{repo}/resolve/{rev}/{**file}", ["GET", "HEAD"], (string owner, string repo, string rev, string? file, HttpContext http) => Resolve(catalog, owner, repo, rev, file, http));
    }

    private static IResult Info(HubCatalog catalog, string owner, string repo, string rev, HttpContext http)
    {
        if (Find(catalog, owner, repo, rev, out HuggingFaceView? view) is IResult error)
        {
            return error;
        }
        http.Response.Headers["X-Repo-Commit"] = view!.Sha;
        var info = new HfModelInfoDto
        {
            InternalId = view.Sha[..24],
            Id = $"{view.Owner}/{view.Repository}",
            ModelId = $"{view.Owner}/{view.Repository}",
            Author = view.Owner,
            Sha = view.Sha,
            LastModified = view.LastModified,
            Tags = view.Tags,
            Siblings = [.. view.Files.Select(f => new HfSiblingDto
            {
                RFilename = f.Name,
                Size = f.Size,
                BlobId = f.GitOid,
                Lfs = f.IsLfs ? new HfLfsDto { Sha256 = f.Sha256, Size = f.Size, PointerSize = f.LfsPointer.Length } : null,
            })],
        };
        return Results.Json(info, HubApiJsonContext.Default.HfModelInfoDto);
    }

    private static IResult Tree(HubCatalog catalog, string owner, string repo, string rev, string? path)
    {
        if (Find(catalog, owner, repo, rev, out HuggingFaceView? view) is IResult error)
        {
            return error;
        }
        if (!string.IsNullOrEmpty(path))
        {
            return HubErrors.Result(404, "EntryNotFound", "no such folder in the repository (all files are at its root)");
        }
        List<HfTreeEntryDto> entries = [.. view!.Files.Select(f => new HfTreeEntryDto
        {
            Oid = f.GitOid,
            Size = f.Size,
            Path = f.Name,
            Lfs = f.IsLfs ? new HfLfsDto { Oid = f.Sha256, Size = f.Size, PointerSize = f.LfsPointer.Length } : null,
        })];
        return Results.Json(entries, HubApiJsonContext.Default.ListHfTreeEntryDto);
    }

    private static IResult Resolve(HubCatalog catalog, string owner, string repo, string rev, string? file, HttpContext http)
    {
        if (Find(catalog, owner, repo, rev, out HuggingFaceView? view) is IResult error)
        {
            return error;
        }
        HfFile? f = view!.Files.FirstOrDefault(x => string.Equals(x.Name, file, StringComparison.Ordinal));
        if (f is null)
        {
            return HubErrors.Result(404, "EntryNotFound", $"{view.Owner}/{view.Repository} has no such file at revision {rev}");
        }
        IHeaderDictionary h = http.Response.Headers;
        h["X-Repo-Commit"] = view.Sha;
        h.AcceptRanges = "bytes";
        var etag = new EntityTagHeaderValue($"\"{f.Sha256}\"");
        if (f.Blob is not null)
        {
            h["X-Linked-Etag"] = etag.Tag.ToString();
            h["X-Linked-Size"] = f.Size.ToString(CultureInfo.InvariantCulture);
            Stream blob = catalog.Store.Blobs.OpenRead(f.Blob);
            return Results.File(blob, "application/octet-stream", null, null, etag, enableRangeProcessing: true);
        }
        return Results.Bytes(f.Content!, "text/markdown; charset=utf-8", null, enableRangeProcessing: true, null, etag);
    }

    /// <summary>The repository at a revision; an error result when the name is invalid (400) or the repository or revision unknown (404).</summary>
    private static IResult? Find(HubCatalog catalog, string owner, string repo, string rev, out HuggingFaceView? view)
    {
        view = null;
        if (!HubCatalog.IsValidRepository(owner, repo))
        {
            return HubErrors.Result(400, "InvalidRepoName", "not a valid repository name (owner/repo: letters, digits, '_', '-', '.')");
        }
        view = HuggingFaceView.Build(catalog, owner, repo);
        if (view is null)
        {
            return HubErrors.Result(404, "RepoNotFound", "repository not found");
        }
        return view.IsRevision(rev) ? null : HubErrors.Result(404, "RevisionNotFound", $"revision not found (this hub serves main = {view.Sha})");
    }
}
