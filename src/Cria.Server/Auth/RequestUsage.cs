using Microsoft.AspNetCore.Http;

namespace Cria.Server.Auth;

/// <summary>
/// The tokens a request used (prompt plus generated, as its <c>usage</c> reports them), noted by the
/// endpoint so the key middleware can charge them to the key's tokens-per-minute quota afterwards.
/// </summary>
internal static class RequestUsage
{
    private const string ItemKey = "cria.usage.tokens";

    public static void Add(HttpContext http, int tokens)
    {
        int before = http.Items.TryGetValue(ItemKey, out object? value) && value is int n ? n : 0;
        http.Items[ItemKey] = before + tokens;
    }

    public static int Get(HttpContext http) =>
        http.Items.TryGetValue(ItemKey, out object? value) && value is int n ? n : 0;
}
