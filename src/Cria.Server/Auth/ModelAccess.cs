using Cria.Server.Engine;
using Cria.Server.Http;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Auth;

/// <summary>
/// A key limited to some models: endpoints call <see cref="Check"/> with the model a request names
/// (before any work), and a model outside the key's list is a 403. Without keys everything is allowed.
/// </summary>
internal static class ModelAccess
{
    private const string ItemKey = "cria.api-key";

    public static void SetKey(HttpContext http, ApiKey key) => http.Items[ItemKey] = key;

    public static ApiKey? GetKey(HttpContext http) => http.Items.TryGetValue(ItemKey, out object? value) ? value as ApiKey : null;

    /// <summary>Whether the request's key (if any) may use the model; listings show only those.</summary>
    public static bool Allows(HttpContext http, ModelEntry entry) => GetKey(http) is not { Models.Count: > 0 } key || key.AllowsModel(entry.Name);

    /// <summary>Throws a 403 when the request's key may not use <paramref name="model"/>; unknown names are left to the 404 that follows.</summary>
    public static void Check(HttpContext http, ModelRegistry registry, string? model)
    {
        if (GetKey(http) is not { Models.Count: > 0 } key || !registry.TryGetEntry(model, out ModelEntry entry))
        {
            return;
        }
        if (!key.AllowsModel(entry.Name))
        {
            throw new ApiException(403, $"the key \"{key.Name}\" may not use the model '{entry.Name}'; it is limited to: {string.Join(", ", key.Models)}",
                "model", "model_not_allowed", "permission_error");
        }
    }
}
