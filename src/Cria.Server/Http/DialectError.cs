using System.Globalization;

using Cria.Server.Ollama;
using Cria.Server.OpenAi;

using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Cria.Server.Http;

/// <summary>
/// Refusals made before an endpoint runs (a missing key, a quota, a rate limit), in the route's dialect:
/// OpenAI's error object, or Ollama's <c>{"error": "..."}</c> under <c>/api/</c>; with
/// <c>Retry-After</c> when the error has one and <c>WWW-Authenticate</c> on a 401.
/// </summary>
internal static class DialectError
{
    public static Task WriteAsync(HttpContext http, ApiException error)
    {
        http.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds > 0)
        {
            http.Response.Headers.RetryAfter = error.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }
        if (error.Status == 401)
        {
            http.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        }
        if (http.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            return EventStream.WriteJsonAsync(http.Response, new OllamaErrorResponse { Error = error.Message },
                OllamaJsonContext.Api.OllamaErrorResponse, http.RequestAborted);
        }
        var body = new ErrorResponse { Error = new ErrorBody { Message = error.Message, Type = error.Type, Code = error.Code } };
        return EventStream.WriteJsonAsync(http.Response, body, OpenAiJsonContext.Api.ErrorResponse, http.RequestAborted);
    }
}
