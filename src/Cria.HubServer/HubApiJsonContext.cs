using System.Text.Json.Serialization;

namespace Cria.HubServer;

/// <summary>Source-generated JSON of the hub's answers (Hugging Face API shapes, registry errors).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HubErrorBody))]
[JsonSerializable(typeof(HfModelInfoDto))]
[JsonSerializable(typeof(List<HfTreeEntryDto>))]
[JsonSerializable(typeof(RegistryPing))]
internal sealed partial class HubApiJsonContext : JsonSerializerContext
{
}

/// <summary>The body of <c>GET /v2/</c>: an empty object.</summary>
internal sealed class RegistryPing
{
}
