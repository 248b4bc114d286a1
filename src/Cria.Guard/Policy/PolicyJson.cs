using System.Text.Json.Serialization;

namespace Cria.Guard.Policy;

[JsonSerializable(typeof(string))]
internal sealed partial class PolicyJson : JsonSerializerContext;
