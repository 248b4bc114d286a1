using Cria.Server.Http;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Auth;

/// <summary>
/// <c>--require-key</c>: every route but <c>/health</c> (and CORS preflights) needs
/// <c>Authorization: Bearer cria-…</c> naming a live key — 401 otherwise — and a key over its
/// per-minute quota gets 429 with <c>Retry-After</c>. After the endpoint ran, the tokens it reported
/// through <see cref="Caller"/> are charged to the key. Errors are in the route's dialect:
/// OpenAI's error object, or Ollama's <c>{"error": "..."}</c> under <c>/api/</c>.
/// </summary>
internal sealed class KeyAuthMiddleware(RequestDelegate next, KeyStore store, QuotaTracker quotas)
{
    private const string BearerScheme = "Bearer ";

    public async Task InvokeAsync(HttpContext http)
    {
        if (http.Request.Path.Equals("/health", StringComparison.OrdinalIgnoreCase) || HttpMethods.IsOptions(http.Request.Method))
        {
            await next(http).ConfigureAwait(false);
            return;
        }
        string? header = http.Request.Headers.Authorization;
        if (header is null || !header.StartsWith(BearerScheme, StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(http, new ApiException(401, "an API key is required: send the header \"Authorization: Bearer <key>\" (keys are made with `cria keys create`)", code: "missing_api_key")).ConfigureAwait(false);
            return;
        }
        ApiKey? key = store.Authenticate(header[BearerScheme.Length..].Trim());
        if (key is null)
        {
            await RefuseAsync(http, new ApiException(401, "the API key is invalid or has been revoked", code: "invalid_api_key")).ConfigureAwait(false);
            return;
        }
        Caller caller = Caller.Authenticated(http, key); // before the quota check, so a 429 is audited under the key's name
        if (!quotas.TryAdmit(key, out QuotaTracker.Ticket ticket, out int retryAfter))
        {
            string limits = $"{Limit(key.RequestsPerMinute, "requests")}, {Limit(key.TokensPerMinute, "tokens")} per minute";
            await RefuseAsync(http, new ApiException(429, $"the key \"{key.Name}\" is over its quota ({limits}); retry in {retryAfter} s", code: "rate_limit_exceeded")
            {
                RetryAfterSeconds = retryAfter,
            }).ConfigureAwait(false);
            return;
        }
        try
        {
            await next(http).ConfigureAwait(false);
        }
        finally
        {
            ticket.Charge(caller.TokensUsed);
        }
    }

    private static string Limit(int limit, string what) => limit > 0 ? $"{limit} {what}" : $"unlimited {what}";

    private static Task RefuseAsync(HttpContext http, ApiException error) => DialectError.WriteAsync(http, error);
}
