using System.Diagnostics;

using Cria.Server.Auth;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Audit;

/// <summary>
/// The first middleware of <c>cria serve</c>: one audit record for every request on every route —
/// generations, listings, embeddings, <c>/metrics</c>, <c>/health</c>, unknown paths, and requests
/// the key middleware refuses (401, 429). It attaches the request's <see cref="AuditFacts"/> for the
/// code below to fill, and when the request is done hands the record, with the status, key name and
/// latency, to the <see cref="AuditWriter"/>.
/// </summary>
internal sealed class AuditMiddleware(RequestDelegate next, AuditWriter writer, AuditOptions options)
{
    /// <summary>Bounds what a hostile client can make the log store per request.</summary>
    private const int MaxRouteLength = 512;

    public async Task InvokeAsync(HttpContext http)
    {
        long timeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long start = Stopwatch.GetTimestamp();
        var facts = new AuditFacts(options.IncludeText);
        facts.Attach(http);
        bool failed = false;
        try
        {
            await next(http).ConfigureAwait(false);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            int status = failed && !http.Response.HasStarted ? StatusCodes.Status500InternalServerError : http.Response.StatusCode;
            string route = http.Request.Path.Value ?? "/";
            string method = http.Request.Method;
            AuditRecord record = facts.ToRecord(timeMs, KeyName(http), Bound(method, 16), Bound(route, MaxRouteLength), status,
                (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            await writer.OfferAsync(record).ConfigureAwait(false);
        }
    }

    /// <summary>The key's name as authentication found it ("-" when there was none or it was refused).</summary>
    private static string KeyName(HttpContext http) => Caller.Find(http)?.KeyName ?? "-";

    private static string Bound(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}
