using Cria.Server.Audit;
using Cria.Server.Engine;
using Cria.Server.Http;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Auth;

/// <summary>
/// Who a request comes from and what it used: the key that authenticated it (null when the server
/// needs none), the route it came in on (for the request log), and the tokens it used (prompt plus
/// generated, as its <c>usage</c> reports them), which the key middleware charges to the key's quota
/// once the endpoint is done. A key limited to some models may use, see and read about only those:
/// a generation for another answers 403, a lookup of another 404, as if it did not exist.
/// </summary>
internal sealed class Caller
{
    private const string ItemKey = "cria.caller";

    private int _tokensUsed;

    public Caller(ApiKey? key, string route, AuditFacts? audit = null)
    {
        Key = key;
        Route = route;
        Audit = audit;
    }

    /// <summary>The request's audit facts, for the run and the services to fill in; null when the server does not audit.</summary>
    public AuditFacts? Audit { get; }

    /// <summary>The key the request authenticated with; null without <c>--require-key</c>.</summary>
    public ApiKey? Key { get; }

    /// <summary>The request's path, as the request log names it.</summary>
    public string Route { get; }

    /// <summary>The key's name for the request log, never its secret; "-" without a key.</summary>
    public string KeyName => Key?.Name ?? "-";

    /// <summary>Tokens charged so far.</summary>
    public int TokensUsed => Volatile.Read(ref _tokensUsed);

    public void Charge(int tokens) => Interlocked.Add(ref _tokensUsed, tokens);

    /// <summary>The request's caller (one without a key when the key middleware did not run).</summary>
    public static Caller Of(HttpContext http)
    {
        if (http.Items.TryGetValue(ItemKey, out object? value) && value is Caller caller)
        {
            return caller;
        }
        caller = new Caller(null, http.Request.Path, AuditFacts.Of(http));
        http.Items[ItemKey] = caller;
        return caller;
    }

    /// <summary>The request's caller if one was made (the audit record's key name), without making one.</summary>
    public static Caller? Find(HttpContext http) =>
        http.Items.TryGetValue(ItemKey, out object? value) ? value as Caller : null;

    /// <summary>Records the authenticated key for the rest of the request.</summary>
    public static Caller Authenticated(HttpContext http, ApiKey key)
    {
        var caller = new Caller(key, http.Request.Path, AuditFacts.Of(http));
        http.Items[ItemKey] = caller;
        return caller;
    }

    /// <summary>Whether the caller may use the model; listings show only those.</summary>
    public bool MayUse(ModelEntry entry) => Key is not { Models.Count: > 0 } key || key.AllowsModel(entry.Name);

    /// <summary>
    /// Before any work on a model the request names: a 403 when the key may not use it. Unknown names
    /// are left to the 404 that follows.
    /// </summary>
    public void CheckUse(ModelRegistry registry, string? model)
    {
        if (Key is not { Models.Count: > 0 } key || !registry.TryGetEntry(model, out ModelEntry entry))
        {
            return;
        }
        if (!key.AllowsModel(entry.Name))
        {
            throw new ApiException(403, $"the key \"{key.Name}\" may not use the model '{entry.Name}'; it is limited to: {string.Join(", ", key.Models)}",
                "model", "model_not_allowed", "permission_error");
        }
    }

    /// <summary>A model the caller looks up (details, not use): one it may not use does not exist for it (404, as <c>/v1/models/{id}</c>).</summary>
    public ModelEntry Find(ModelRegistry registry, string? model)
    {
        if (!registry.TryGetEntry(model, out ModelEntry entry) || !MayUse(entry))
        {
            throw new ApiException(404, $"model '{model}' not found", "model", "model_not_found");
        }
        return entry;
    }
}
