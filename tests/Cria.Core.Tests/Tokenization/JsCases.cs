using System.Text.Json;

namespace Cria.Core.Tests.Tokenization;

/// <summary>
/// Encode/decode vectors from two npm tokenizer libraries (tests/data/tokenizers/*-cases.json):
/// each case is an <c>encode</c>, <c>decode</c> or <c>encode_and_decode</c> with its options.
/// </summary>
internal sealed record JsCase(string Kind, string? Input, int[] Ids, string? Text, bool Bos, bool Eos, bool AddBosToken, bool AddPrecedingSpace)
{
    public static IReadOnlyList<JsCase> Load(string file)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(TestData.Path(file)));
        var cases = new List<JsCase>();
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            JsonElement options = c.TryGetProperty("options", out JsonElement o) ? o : default;
            int[] ids = c.TryGetProperty("expected_ids", out JsonElement e) || c.TryGetProperty("ids", out e)
                ? [.. e.EnumerateArray().Select(x => x.GetInt32())]
                : [];
            cases.Add(new JsCase(
                c.GetProperty("kind").GetString()!,
                c.TryGetProperty("input", out JsonElement input) ? input.GetString() : null,
                ids,
                c.TryGetProperty("expected_text", out JsonElement text) ? text.GetString() : null,
                Option(options, "bos"),
                Option(options, "eos"),
                Option(options, "add_bos_token"),
                Option(options, "add_preceding_space")));
        }
        return cases;
    }

    private static bool Option(JsonElement options, string name) =>
        options.ValueKind == JsonValueKind.Object && options.TryGetProperty(name, out JsonElement v) && v.GetBoolean();
}
