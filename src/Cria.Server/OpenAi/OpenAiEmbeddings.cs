using System.Runtime.InteropServices;
using System.Text.Json;

using Cria.Server.Http;
using Cria.Server.Requests;

namespace Cria.Server.OpenAi;

// OpenAI's embeddings shapes (https://platform.openai.com/docs/api-reference/embeddings/create).

internal sealed class EmbeddingRequest
{
    /// <summary>A string, an array of strings, an array of token ids, or an array of token-id arrays.</summary>
    public JsonElement? Input { get; set; }
    public string? Model { get; set; }

    /// <summary><c>float</c> (the default) or <c>base64</c> (little-endian float32, as the official SDKs ask for).</summary>
    public string? EncodingFormat { get; set; }
    public int? Dimensions { get; set; }
    public string? User { get; set; }
}

internal sealed class EmbeddingResponse
{
    public string Object { get; init; } = "list";
    public required List<EmbeddingDto> Data { get; init; }
    public required string Model { get; init; }
    public required EmbeddingUsage Usage { get; init; }
}

internal sealed class EmbeddingDto
{
    public string Object { get; init; } = "embedding";
    public int Index { get; init; }

    /// <summary>A <c>float[]</c>, or a base64 string of its bytes.</summary>
    public required object Embedding { get; init; }
}

internal sealed class EmbeddingUsage
{
    public int PromptTokens { get; init; }
    public int TotalTokens { get; init; }
}

/// <summary>Maps OpenAI's <c>input</c> to Cria's inputs and the vectors back to OpenAI's encodings.</summary>
internal static class OpenAiEmbeddingMapping
{
    public static List<EmbeddingInput> ToInputs(JsonElement? input)
    {
        const string param = "input";
        if (input is not { } e || e.ValueKind == JsonValueKind.Null)
        {
            throw ApiException.BadRequest("input is required", param);
        }
        if (e.ValueKind == JsonValueKind.String)
        {
            return [Text(e)];
        }
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest("input must be a string, an array of strings, or an array of token ids", param);
        }
        var inputs = new List<EmbeddingInput>();
        if (e.GetArrayLength() > 0 && e[0].ValueKind == JsonValueKind.Number)
        {
            inputs.Add(new EmbeddingInput(null, TokenIds(e)));
            return inputs;
        }
        foreach (JsonElement item in e.EnumerateArray())
        {
            inputs.Add(item.ValueKind switch
            {
                JsonValueKind.String => Text(item),
                JsonValueKind.Array => new EmbeddingInput(null, TokenIds(item)),
                _ => throw ApiException.BadRequest("each input must be a string or an array of token ids", param),
            });
            if (inputs.Count > EmbeddingService.MaxInputs)
            {
                break; // the service reports the count
            }
        }
        return inputs;
    }

    private static EmbeddingInput Text(JsonElement e)
    {
        string text = e.GetString()!;
        return text.Length == 0 ? throw ApiException.BadRequest("input must not be an empty string", "input") : new EmbeddingInput(text, null);
    }

    private static int[] TokenIds(JsonElement array)
    {
        var ids = new int[array.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i++]))
            {
                throw ApiException.BadRequest("token ids must be integers", "input");
            }
        }
        return ids;
    }

    /// <summary>Whether vectors go out as base64; anything but <c>float</c> or <c>base64</c> is a 400.</summary>
    public static bool IsBase64(string? format) => format switch
    {
        null or "float" => false,
        "base64" => true,
        _ => throw ApiException.BadRequest($"encoding_format must be \"float\" or \"base64\", got \"{format}\"", "encoding_format"),
    };

    public static object Encode(float[] vector, bool base64) =>
        base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan())) : vector;
}
