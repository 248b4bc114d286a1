using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>Reads and writes a <see cref="Digest"/> as its <c>sha256:…</c> string; anything else is a JSON error naming the value.</summary>
public sealed class DigestJsonConverter : JsonConverter<Digest>
{
    public override Digest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"a digest must be a string, got {reader.TokenType}");
        }
        return Digest.TryParse(reader.GetString(), out Digest? d, out string? error) ? d : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, Digest value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.ToString());
    }
}
