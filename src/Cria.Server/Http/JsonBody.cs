using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Http;

/// <summary>Reads a request body as one JSON object of a source-generated type; every failure is a 400 that says where.</summary>
internal static class JsonBody
{
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync(request.Body, type, request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 1 } path ? $" at {path}" : "";
            string line = e.LineNumber is { } l ? $" (line {l + 1}, byte {e.BytePositionInLine + 1})" : "";
            string reason = e.InnerException is InvalidOperationException or FormatException or OverflowException
                ? "a value has the wrong type or is out of range"
                : "the body is not valid JSON of the expected shape";
            throw new ApiException(400, $"invalid request body{where}{line}: {reason}", e.Path is { Length: > 2 } p ? p[2..] : null);
        }
        return value ?? throw ApiException.BadRequest("the request body must be a JSON object");
    }
}
