using Cria.Hub;
using Cria.Hub.Store;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Cria.HubServer;

/// <summary>
/// The read side of the registry protocol (Docker Registry HTTP API V2, as Ollama pulls it): the
/// <c>/v2/</c> ping, manifests by tag or digest with their exact stored bytes and
/// <c>Docker-Content-Digest</c>, and blobs with Range. A blob is served only under a repository one of
/// whose manifests names it.
/// </summary>
internal static class RegistryRoutes
{
    public const string ApiVersionHeader = "Docker-Distribution-API-Version";

    public static void Map(IEndpointRouteBuilder app, HubCatalog catalog)
    {
        app.MapMethods("/v2/", ["GET", "HEAD"], (HttpContext http) =>
        {
            http.Response.Headers[ApiVersionHeader] = "registry/2.0";
            return Results.Json(new RegistryPing(), HubApiJsonContext.Default.RegistryPing);
        });
        app.MapMethods("/v2/{ns}/{model}/manifests/{reference}", ["GET", "HEAD"], (string ns, string model, string reference, HttpContext http) => Manifest(catalog, ns, model, reference, http));
        app.MapMethods("/v2/{ns}/{model}/blobs/{digest}", ["GET", "HEAD"], (string ns, string model, string digest, HttpContext http) => Blob(catalog, ns, model, digest, http));
    }

    private static IResult Manifest(HubCatalog catalog, string ns, string model, string reference, HttpContext http)
    {
        if (!HubCatalog.IsValidRepository(ns, model))
        {
            return HubErrors.Result(400, "NAME_INVALID", "invalid repository name");
        }
        StoredManifest? m;
        if (reference.StartsWith(Digest.Prefix, StringComparison.Ordinal))
        {
            if (!Digest.TryParse(reference, out Digest? d))
            {
                return HubErrors.Result(400, "DIGEST_INVALID", "invalid digest: expected sha256: and 64 lowercase hex digits");
            }
            m = catalog.Tags(ns, model).FirstOrDefault(t => t.Digest == d);
        }
        else
        {
            if (!HubCatalog.IsValidTag(reference))
            {
                return HubErrors.Result(400, "TAG_INVALID", "invalid tag");
            }
            m = catalog.Tag(ns, model, reference);
        }
        if (m is null)
        {
            return HubErrors.Result(404, "MANIFEST_UNKNOWN", "manifest unknown");
        }
        http.Response.Headers[ApiVersionHeader] = "registry/2.0";
        http.Response.Headers["Docker-Content-Digest"] = m.Digest.ToString();
        return Results.Bytes(m.Bytes, m.Manifest.MediaType, null, false, null, new EntityTagHeaderValue($"\"{m.Digest}\""));
    }

    private static IResult Blob(HubCatalog catalog, string ns, string model, string digest, HttpContext http)
    {
        if (!HubCatalog.IsValidRepository(ns, model))
        {
            return HubErrors.Result(400, "NAME_INVALID", "invalid repository name");
        }
        if (!Digest.TryParse(digest, out Digest? d))
        {
            return HubErrors.Result(400, "DIGEST_INVALID", "invalid digest: expected sha256: and 64 lowercase hex digits");
        }
        bool named = catalog.Tags(ns, model).Any(t => t.Manifest.Blobs.Any(l => l.Digest == d));
        if (!named || !catalog.Store.Blobs.Exists(d))
        {
            return HubErrors.Result(404, "BLOB_UNKNOWN", "blob unknown to this repository");
        }
        http.Response.Headers[ApiVersionHeader] = "registry/2.0";
        http.Response.Headers["Docker-Content-Digest"] = d.ToString();
        http.Response.Headers.AcceptRanges = "bytes";
        return Results.File(catalog.Store.Blobs.OpenRead(d), "application/octet-stream", null, null, new EntityTagHeaderValue($"\"{d}\""), enableRangeProcessing: true);
    }
}
