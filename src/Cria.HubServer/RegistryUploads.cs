using Cria.Core.Gguf;
using Cria.Hub;
using Cria.Hub.Blobs;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Cria.HubServer;

/// <summary>
/// The write side of the registry protocol (pushes; the auth middleware lets only push tokens through).
/// Invariant: nothing a client sends becomes visible until it is verified. A blob upload streams into a
/// private temporary file in the blob directory (<see cref="BlobStore.PutAsync"/>), hashed as it
/// arrives, and is renamed into place only when it is exactly Content-Length bytes whose SHA-256 is the
/// digest the client named; a manifest is filed (<see cref="ModelStore.WriteManifest(ModelName, ReadOnlySpan{byte})"/>,
/// under the store lock) only when it parses, every blob it names is present with its size, and every
/// model or adapter layer opens with the engine's GGUF parser. Upload sessions hold no data, only an id.
/// </summary>
internal static class RegistryUploads
{
    public static void Map(IEndpointRouteBuilder app, HubCatalog catalog, UploadSessions sessions, HubServerOptions options, ILogger log)
    {
        app.MapPost("/v2/{ns}/{model}/blobs/uploads/", (string ns, string model, HttpContext http) => StartAsync(catalog, sessions, options, ns, model, http));
        app.MapPut("/v2/{ns}/{model}/blobs/uploads/{id}", (string ns, string model, string id, HttpContext http) =>
            !HubCatalog.IsValidRepository(ns, model) ? Task.FromResult(HubErrors.Result(400, "NAME_INVALID", "invalid repository name"))
            : !sessions.Take(id, $"{ns}/{model}") ? Task.FromResult(HubErrors.Result(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown or expired; start a new one"))
            : PutBlobAsync(catalog, options, ns, model, http, log));
        app.MapMethods("/v2/{ns}/{model}/blobs/uploads/{id}", ["PATCH"], () =>
            HubErrors.Result(400, "UNSUPPORTED", "chunked uploads are not supported; send the whole blob with PUT ?digest="));
        app.MapPut("/v2/{ns}/{model}/manifests/{reference}", (string ns, string model, string reference, HttpContext http) => PutManifestAsync(catalog, ns, model, reference, http, log));
    }

    private static Task<IResult> StartAsync(HubCatalog catalog, UploadSessions sessions, HubServerOptions options, string ns, string model, HttpContext http)
    {
        if (!HubCatalog.IsValidRepository(ns, model))
        {
            return Task.FromResult(HubErrors.Result(400, "NAME_INVALID", "invalid repository name"));
        }
        if (http.Request.Query.ContainsKey("digest"))
        {
            return PutBlobAsync(catalog, options, ns, model, http, null); // a monolithic POST
        }
        string? id = sessions.Start($"{ns}/{model}");
        if (id is null)
        {
            return Task.FromResult(HubErrors.Result(429, "TOOMANYREQUESTS", "too many uploads in progress; try again later"));
        }
        http.Response.Headers.Location = $"/v2/{ns}/{model}/blobs/uploads/{id}";
        http.Response.Headers["Docker-Upload-UUID"] = id;
        http.Response.Headers.Range = "0-0";
        return Task.FromResult(Results.StatusCode(202));
    }

    private static async Task<IResult> PutBlobAsync(HubCatalog catalog, HubServerOptions options, string ns, string model, HttpContext http, ILogger? log)
    {
        if (!Digest.TryParse(http.Request.Query["digest"].ToString(), out Digest? digest))
        {
            return HubErrors.Result(400, "DIGEST_INVALID", "the upload needs ?digest=sha256:<64 lowercase hex digits>");
        }
        if (http.Request.ContentLength is not long length)
        {
            return HubErrors.Result(411, "SIZE_INVALID", "Content-Length is required");
        }
        if (length < 0 || length > options.MaxBlobBytes)
        {
            return HubErrors.Result(413, "SIZE_INVALID", $"a blob may have at most {options.MaxBlobBytes:N0} bytes");
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = length;
        }
        try
        {
            BlobInfo info = await catalog.Store.Blobs.PutAsync(http.Request.Body, digest, length, null, http.RequestAborted).ConfigureAwait(false);
            log?.LogInformation("hub: blob {Digest} ({Size} bytes) {What}", digest, info.Size, info.Created ? "stored" : "already present");
        }
        catch (DigestMismatchException e)
        {
            return HubErrors.Result(400, "DIGEST_INVALID", e.Message);
        }
        catch (HubException e)
        {
            return HubErrors.Result(400, "SIZE_INVALID", e.Message);
        }
        catch (IOException e) when (e.Message.StartsWith("not enough free disk space", StringComparison.Ordinal))
        {
            return HubErrors.Result(507, "DENIED", "not enough free disk space on the hub");
        }
        http.Response.Headers.Location = $"/v2/{ns}/{model}/blobs/{digest}";
        http.Response.Headers["Docker-Content-Digest"] = digest.ToString();
        return Results.StatusCode(201);
    }

    private static async Task<IResult> PutManifestAsync(HubCatalog catalog, string ns, string model, string reference, HttpContext http, ILogger log)
    {
        if (!HubCatalog.IsValidRepository(ns, model))
        {
            return HubErrors.Result(400, "NAME_INVALID", "invalid repository name");
        }
        if (!HubCatalog.IsValidTag(reference))
        {
            return HubErrors.Result(400, "TAG_INVALID", "manifests are pushed by tag (letters, digits, '_', '-', '.')");
        }
        byte[]? raw = await ReadSmallBodyAsync(http.Request, Manifest.MaxBytes).ConfigureAwait(false);
        if (raw is null)
        {
            return HubErrors.Result(413, "MANIFEST_INVALID", $"a manifest may have at most {Manifest.MaxBytes:N0} bytes");
        }
        ModelName name = HubCatalog.PushName(ns, model, reference);
        StoredManifest stored;
        try
        {
            // A derivative that breaks its licence's naming rule or lacks its Notice is not filed,
            // whatever client pushed it (cria push checks the same before uploading).
            IReadOnlyList<string> problems = catalog.Store.DistributionProblems(name, Manifest.Parse(raw, name.DisplayShortest()));
            if (problems.Count > 0)
            {
                return HubErrors.Result(400, "DENIED", "the model's licence does not allow this push: " + string.Join("; ", problems));
            }
            stored = catalog.Store.WriteManifest(name, raw);
        }
        catch (GgufFormatException e)
        {
            return HubErrors.Result(400, "MANIFEST_INVALID", "a model layer is not a GGUF file the engine reads: " + Hide(e.Message, catalog));
        }
        catch (HubException e)
        {
            string code = e.Message.Contains("is not in the store", StringComparison.Ordinal) ? "MANIFEST_BLOB_UNKNOWN" : "MANIFEST_INVALID";
            return HubErrors.Result(400, code, Hide(e.Message, catalog));
        }
        log.LogInformation("hub: pushed {Name} ({Digest})", name.DisplayShortest(), stored.Digest);
        http.Response.Headers.Location = $"/v2/{ns}/{model}/manifests/{reference}";
        http.Response.Headers["Docker-Content-Digest"] = stored.Digest.ToString();
        return Results.StatusCode(201);
    }

    /// <summary>The request body, or null when it is longer than <paramref name="max"/>.</summary>
    private static async Task<byte[]?> ReadSmallBodyAsync(HttpRequest request, int max)
    {
        if (request.ContentLength > max)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[1 << 16];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > max)
            {
                return null;
            }
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    /// <summary>An error message without the hub's own paths.</summary>
    private static string Hide(string message, HubCatalog catalog) =>
        message.Replace(catalog.Store.ModelsDirectory, "<store>", StringComparison.Ordinal);
}
