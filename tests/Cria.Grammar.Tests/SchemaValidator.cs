using System.Text.Json;

using Json.Schema;

namespace Cria.Grammar.Tests;

/// <summary>JSON Schema validation by an independent implementation (JsonSchema.Net, draft 2020-12, formats asserted).</summary>
internal static class SchemaValidator
{
    private static readonly EvaluationOptions s_options = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };

    public static bool IsValid(string schema, string instance)
    {
        JsonSchema s = JsonSchema.FromText(schema);
        using JsonDocument doc = JsonDocument.Parse(instance, new JsonDocumentOptions { MaxDepth = 1000 });
        return s.Evaluate(doc.RootElement, s_options).IsValid;
    }

    /// <summary>True when <paramref name="text"/> is JSON by System.Text.Json's reading.</summary>
    public static bool IsJson(string text)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 1000 });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
