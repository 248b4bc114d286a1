using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>Source-generated JSON for everything the store writes and reads (no reflection).</summary>
[JsonSourceGenerationOptions(WriteIndented = false, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow, MaxDepth = 16)]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(List<LineageStep>))]
[JsonSerializable(typeof(List<ChatMessage>))]
internal sealed partial class HubJsonContext : JsonSerializerContext;
