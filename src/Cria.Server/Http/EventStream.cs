using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Http;

/// <summary>Writes streamed updates: server-sent events (OpenAI) or newline-delimited JSON (Ollama), one flush per update.</summary>
internal static class EventStream
{
    private static readonly byte[] s_dataPrefix = "data: "u8.ToArray();
    private static readonly byte[] s_eventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] s_newline = "\n"u8.ToArray();
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

    public static void StartSse(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public static void StartNdjson(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/x-ndjson";
        response.Headers.CacheControl = "no-cache";
    }

    public static async Task WriteSseAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, CancellationToken cancel)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, type);
        await response.Body.WriteAsync(s_dataPrefix, cancel).ConfigureAwait(false);
        await response.Body.WriteAsync(json, cancel).ConfigureAwait(false);
        await response.Body.WriteAsync(s_eventEnd, cancel).ConfigureAwait(false);
        await response.Body.FlushAsync(cancel).ConfigureAwait(false);
    }

    public static async Task WriteSseDoneAsync(HttpResponse response, CancellationToken cancel)
    {
        await response.Body.WriteAsync(s_done, cancel).ConfigureAwait(false);
        await response.Body.FlushAsync(cancel).ConfigureAwait(false);
    }

    public static async Task WriteLineAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, CancellationToken cancel)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, type);
        await response.Body.WriteAsync(json, cancel).ConfigureAwait(false);
        await response.Body.WriteAsync(s_newline, cancel).ConfigureAwait(false);
        await response.Body.FlushAsync(cancel).ConfigureAwait(false);
    }

    public static async Task WriteJsonAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, CancellationToken cancel)
    {
        response.ContentType = "application/json";
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, type);
        await response.Body.WriteAsync(json, cancel).ConfigureAwait(false);
    }
}
