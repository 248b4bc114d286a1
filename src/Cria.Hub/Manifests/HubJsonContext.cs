using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cria.Hub.Manifests;

/// <summary>Source-generated JSON for everything the store writes and reads (no reflection).</summary>
[JsonSourceGenerationOptions(WriteIndented = false, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow, MaxDepth = 16)]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(List<LineageStep>))]
[JsonSerializable(typeof(List<ChatMessage>))]
internal sealed partial class HubJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Escapes only what JSON requires (quotes, backslashes, control characters), so stop strings like
    /// "&lt;|im_end|&gt;" and non-ASCII text stay readable in the stored blobs.
    /// </summary>
    public static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>The context the store reads and writes with.</summary>
    public static HubJsonContext Store { get; } = new(new JsonSerializerOptions { Encoder = Encoder, MaxDepth = 16 });
}
