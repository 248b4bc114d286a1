using System.Text.Json.Serialization;

using Microsoft.AspNetCore.Http;

namespace Cria.HubServer;

/// <summary>
/// The hub's error body, one shape both kinds of client read: <c>{"error": message, "errors": [{"code", "message"}]}</c>
/// — Hugging Face clients read <c>error</c> (and the <c>X-Error-Code</c> header), registry clients
/// <c>errors</c> (Docker Registry HTTP API V2 error codes).
/// </summary>
internal static class HubErrors
{
    public static IResult Result(int status, string code, string message) => new ErrorResult(status, code, message);

    public static Task WriteAsync(HttpContext http, int status, string code, string message)
    {
        http.Response.StatusCode = status;
        http.Response.Headers["X-Error-Code"] = code;
        http.Response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(http.Request.Method))
        {
            return Task.CompletedTask;
        }
        var body = new HubErrorBody { Error = message, Errors = [new HubErrorItem { Code = code, Message = message }] };
        return http.Response.WriteAsJsonAsync(body, HubApiJsonContext.Default.HubErrorBody, contentType: "application/json", http.RequestAborted);
    }

    private sealed class ErrorResult(int status, string code, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, status, code, message);
    }
}

internal sealed class HubErrorBody
{
    [JsonPropertyName("error")]
    public required string Error { get; init; }

    [JsonPropertyName("errors")]
    public required List<HubErrorItem> Errors { get; init; }
}

internal sealed class HubErrorItem
{
    [JsonPropertyName("code")]
    public required string Code { get; init; }

    [JsonPropertyName("message")]
    public required string Message { get; init; }
}
