using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Http;

/// <summary>
/// Reads a request body as one JSON object of a source-generated type; every failure is a 400 that
/// says where. The body is read whole first (Kestrel bounds it: past the limit, chunked or not, the
/// read fails with 413) and checked to be UTF-8, so no string met later (a message's content kept as
/// a <see cref="JsonElement"/>) can fail to transcode in the middle of a request. A body nested deeper
/// than <see cref="MaxDepth"/> is refused at the level that passes it, before anything is deserialized.
/// </summary>
internal static class JsonBody
{
    /// <summary>Deepest nesting of objects and arrays a body may have (System.Text.Json's default; no request needs more than a few).</summary>
    public const int MaxDepth = 64;

    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        byte[] body = await ReadAllAsync(request).ConfigureAwait(false);
        if (InvalidUtf8At(body) is { } offset)
        {
            throw ApiException.BadRequest($"invalid request body: it is not valid UTF-8 (byte {offset})");
        }
        CheckDepthAndEscapes(body);
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(body, type);
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

    private static async Task<byte[]> ReadAllAsync(HttpRequest request)
    {
        CancellationToken cancel = request.HttpContext.RequestAborted;
        if (request.ContentLength is { } length and <= 1 << 20)
        {
            // The usual case: a declared length within the default limit (Kestrel has already refused one over the configured limit).
            byte[] exact = new byte[length];
            try
            {
                await request.Body.ReadExactlyAsync(exact, cancel).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                throw ApiException.BadRequest($"the request body ended before its Content-Length of {length} bytes");
            }
            return exact;
        }
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        while (true)
        {
            Memory<byte> free = buffer.GetMemory(16 * 1024);
            int read = await request.Body.ReadAsync(free, cancel).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }
            buffer.Advance(read);
        }
    }

    /// <summary>
    /// Nesting past <see cref="MaxDepth"/> is a 400 naming the limit. Escapes can spell text that is not Unicode (an unpaired surrogate, <c>"\ud800"</c>): each escaped
    /// string is decoded once here, so the error is a 400 naming the byte, not a failure later. Malformed
    /// JSON is left to the deserializer, which says where.
    /// </summary>
    private static void CheckDepthAndEscapes(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth + 1 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= MaxDepth)
                {
                    // Said as the deserializer says where: line and byte within it, both from 1.
                    int at = (int)reader.TokenStartIndex;
                    int lineStart = body[..at].LastIndexOf((byte)'\n') + 1;
                    int line = body[..at].Count((byte)'\n') + 1;
                    throw ApiException.BadRequest($"invalid request body (line {line}, byte {at - lineStart + 1}): objects and arrays are nested deeper than the limit of {MaxDepth} levels");
                }
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    try
                    {
                        _ = reader.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        throw ApiException.BadRequest($"invalid request body: the string at byte {reader.TokenStartIndex} escapes text that is not valid Unicode (an unpaired surrogate?)");
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Reported by the deserializer, with its path.
        }
    }

    /// <summary>The byte offset of the first invalid UTF-8 sequence, or null when the text is valid.</summary>
    internal static int? InvalidUtf8At(ReadOnlySpan<byte> text)
    {
        if (System.Text.Unicode.Utf8.IsValid(text))
        {
            return null;
        }
        int offset = 0;
        while (offset < text.Length)
        {
            if (Rune.DecodeFromUtf8(text[offset..], out _, out int consumed) != OperationStatus.Done)
            {
                return offset;
            }
            offset += consumed;
        }
        return offset;
    }
}
