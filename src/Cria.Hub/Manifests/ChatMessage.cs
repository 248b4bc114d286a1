using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>A MESSAGE of a Modelfile: part of an example conversation a chat starts with.</summary>
public sealed record ChatMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);
