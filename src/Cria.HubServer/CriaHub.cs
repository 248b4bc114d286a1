using Cria.Hosting;
using Cria.Hub;
using Cria.Hub.Blobs;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cria.HubServer;

/// <summary>
/// Builds <c>cria hub serve</c>: a store served over the Hugging Face protocol (<c>/api/models/…</c>,
/// <c>/{owner}/{repo}/resolve/{rev}/{file}</c>) and the registry protocol (<c>/v2/…</c>), read-only
/// unless push tokens are configured. A separate app from <c>cria serve</c>: no models are loaded,
/// bodies are limited to a manifest's size except blob uploads (limited to their declared length and
/// streamed to disk), connections by <see cref="ConnectionLimits"/>, tokens refused over plain HTTP
/// beyond loopback unless <c>--insecure</c>,
/// every name and digest is validated before the store is touched, nothing lists directories, and
/// every error is JSON.
/// </summary>
public static class CriaHub
{
    /// <summary>Builds the app; start it with <c>StartAsync</c>/<c>RunAsync</c>.</summary>
    /// <exception cref="ArgumentException">Bad options.</exception>
    public static WebApplication Build(HubServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // A bad certificate or key stops the build here, naming the file, rather than the first TLS handshake.
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = options.Tls?.Load();
        var catalog = new HubCatalog(new ModelStore(options.Home));
        var tokens = new HubTokens(options.AllGrants(), options.EffectivePrivateNamespaces());
        var sessions = new UploadSessions(options.MaxUploadSessions);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        logging?.Invoke(builder.Logging);
        // Pinned after the caller's settings: ASP.NET Core's request lines print the whole URL, query string
        // included, and Kestrel's bad-request lines the raw request line or header; a key or token sent where it
        // does not belong would land in the log. Cria's own lines name the route and the key's name instead.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            options.Connections.Apply(kestrel);
            kestrel.Limits.MaxRequestBodySize = Manifest.MaxBytes + (64 << 10);
            kestrel.AddServerHeader = false;
            ListenAddress.Listen(kestrel, options.Host, options.Port, certificate);
        });
        WebApplication app = builder.Build();
        ILogger log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cria.Hub");

        app.Use(async (http, next) =>
        {
            try
            {
                await next(http).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (!http.Response.HasStarted)
            {
                await HubErrors.WriteAsync(http, e.StatusCode, e.StatusCode == 413 ? "SIZE_INVALID" : "BAD_REQUEST", "bad request: " + e.Message).ConfigureAwait(false);
            }
            catch (Exception e) when (!http.Response.HasStarted && e is not OperationCanceledException)
            {
                log.LogError(e, "hub: {Method} {Path} failed", http.Request.Method, http.Request.Path);
                await HubErrors.WriteAsync(http, 500, "UNKNOWN", "internal error").ConfigureAwait(false);
            }
        });
        app.UseStatusCodePages(context =>
        {
            HttpContext http = context.HttpContext;
            string code = http.Response.StatusCode switch { 404 => "NOT_FOUND", 405 => "UNSUPPORTED", _ => "ERROR" };
            return HubErrors.WriteAsync(http, http.Response.StatusCode, code, http.Response.StatusCode == 405 ? "method not allowed" : "not found");
        });
        app.UseRouting(); // the grant check below needs the route's namespace
        app.Use((http, next) =>
        {
            bool write = !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method));
            string? authorization = http.Request.Headers.Authorization.Count == 1 ? http.Request.Headers.Authorization.ToString() : null;
            if (write && !tokens.Writable)
            {
                return HubErrors.WriteAsync(http, 403, "DENIED", "this hub is read-only; start it with --push-token or --token-file to accept pushes");
            }
            string? ns = (http.GetRouteValue("ns") ?? http.GetRouteValue("owner")) as string;
            switch (tokens.Decide(authorization, ns, write))
            {
                case HubAccess.Unauthorized:
                    http.Response.Headers.WWWAuthenticate = "Bearer realm=\"cria-hub\"";
                    return HubErrors.WriteAsync(http, 401, "UNAUTHORIZED", write ? "a push token is required (Authorization: Bearer TOKEN)" : "a token is required (Authorization: Bearer TOKEN)");
                case HubAccess.Forbidden:
                    return HubErrors.WriteAsync(http, 403, "DENIED", $"this token may not push to the namespace \"{ns}\"");
                case HubAccess.Hidden:
                    return HubErrors.WriteAsync(http, 404, http.Request.Path.StartsWithSegments("/v2") ? "NAME_UNKNOWN" : "RepoNotFound", "repository not found");
                default:
                    return next(http);
            }
        });

        app.MapMethods("/", ["GET", "HEAD"], () => Results.Text("Cria hub: Hugging Face API at /api/models/{owner}/{repo}, registry API at /v2/\n"));
        RegistryRoutes.Map(app, catalog);
        RegistryUploads.Map(app, catalog, sessions, options, log);
        HuggingFaceRoutes.Map(app, catalog);
        CollectOrphansPeriodically(app, catalog.Store, options, log);
        HoldWriterLock(app, catalog.Store);
        return app;
    }

    /// <summary>
    /// A pushed blob waits for the manifest that names it in a later request: while the hub serves, it
    /// holds the store's <see cref="WriterLock"/> shared, so <c>cria doctor --repair</c> on its data
    /// directory waits for the hub to stop instead of deleting a push in progress.
    /// </summary>
    private static void HoldWriterLock(WebApplication app, ModelStore store)
    {
        WriterLock? writers = null;
        app.Lifetime.ApplicationStarted.Register(() => writers = WriterLock.EnterShared(store.Blobs.Directory));
        app.Lifetime.ApplicationStopped.Register(() => writers?.Dispose());
    }

    /// <summary>
    /// Blobs pushed without a manifest that names them (an abandoned or refused push) would stay forever:
    /// every <see cref="HubServerOptions.GarbageCollectionInterval"/>, those older than
    /// <see cref="HubServerOptions.OrphanBlobAge"/> are deleted, under the store's lock, so a manifest
    /// being written is never left without its blobs.
    /// </summary>
    private static void CollectOrphansPeriodically(WebApplication app, ModelStore store, HubServerOptions options, ILogger log)
    {
        Timer? timer = null;
        app.Lifetime.ApplicationStarted.Register(() => timer = new Timer(_ =>
        {
            try
            {
                IReadOnlyList<Digest> deleted = store.CollectGarbage(options.OrphanBlobAge);
                if (deleted.Count > 0)
                {
                    log.LogInformation("hub: deleted {Count} blobs no manifest refers to", deleted.Count);
                }
            }
            catch (Exception e) when (e is HubException or IOException or TimeoutException or UnauthorizedAccessException)
            {
                log.LogWarning("hub: garbage collection skipped: {Reason}", e.Message);
            }
        }, null, options.GarbageCollectionInterval, options.GarbageCollectionInterval));
        app.Lifetime.ApplicationStopping.Register(() => timer?.Dispose());
    }
}
