using System.Text.Json;

using Cria.Guard;
using Cria.Guard.Detectors;
using Cria.Guard.Policy;
using Cria.Guard.Rails;
using Cria.Server.Auth;
using Cria.Server.Http;
using Cria.Server.Requests;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.OpenAi;

internal sealed record ModerationRequest
{
    /// <summary>A string, an array of strings, or an array of <c>{"type": "text", "text"}</c> parts.</summary>
    public JsonElement? Input { get; init; }

    public string? Model { get; init; }
}

internal sealed record ModerationResponse
{
    public required string Id { get; init; }

    public required string Model { get; init; }

    public required List<ModerationResult> Results { get; init; }
}

internal sealed record ModerationResult
{
    public bool Flagged { get; init; }

    public required Dictionary<string, bool> Categories { get; init; }

    public required Dictionary<string, double> CategoryScores { get; init; }

    public required Dictionary<string, List<string>> CategoryAppliedInputTypes { get; init; }
}

/// <summary>
/// <c>POST /v1/moderations</c> in OpenAI's shape, answered by the guard's detectors: the caller's policy's checks
/// (every stage's; without a policy, the built-in pii, secrets and injection detectors). OpenAI's thirteen category
/// keys are always present (false, 0: no built-in detector judges harassment or violence), and Cria's own are added
/// per detector and per type (<c>pii</c>, <c>pii/email</c>, …) with the highest score found. <c>flagged</c>: any
/// finding over its check's threshold.
/// </summary>
internal static class OpenAiModerations
{
    public const int MaxInputs = 256;

    private static readonly string[] s_openAiCategories =
    [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent", "self-harm",
        "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
    ];

    private static readonly Rail s_builtIn = new(GuardStage.Input,
    [
        new GuardCheck(new PiiDetector(), GuardAction.Log),
        new GuardCheck(new SecretsDetector(), GuardAction.Log),
        new GuardCheck(new InjectionDetector(), GuardAction.Log),
    ]);

    public static async Task Moderate(HttpContext http, GenerationService service)
    {
        ModerationRequest body = await JsonBody.ReadAsync(http.Request, OpenAiJsonContext.Api.ModerationRequest);
        List<string> inputs = Inputs(body.Input);
        Caller caller = Caller.Of(http);
        GuardPolicy policy = service.Guard.Resolve(null, caller.Key?.Name);
        List<GuardCheck> checks = [.. policy.Input.Checks, .. policy.Output.Checks, .. policy.ToolCalls.Checks];
        Rail rail = checks.Count == 0 ? s_builtIn : new Rail(GuardStage.Input, [.. checks.DistinctBy(c => c.Detector)]);
        var results = new List<ModerationResult>(inputs.Count);
        foreach (string input in inputs)
        {
            List<RailFinding> findings = rail.IsSynchronous ? rail.Scan(input) : await rail.ScanAsync(input, http.RequestAborted);
            results.Add(Classify(rail, findings));
        }
        var response = new ModerationResponse { Id = ServerInfo.NewId("modr-"), Model = body.Model ?? "cria-guard", Results = results };
        await EventStream.WriteJsonAsync(http.Response, response, OpenAiJsonContext.Api.ModerationResponse, http.RequestAborted);
    }

    /// <summary>Llama Guard codes with an OpenAI category of the same meaning; the others are named <c>llama_guard/S&lt;n&gt;</c> only.</summary>
    private static readonly Dictionary<string, string> s_llamaGuardToOpenAi = new(StringComparer.Ordinal)
    {
        ["S1"] = "violence",
        ["S4"] = "sexual/minors",
        ["S10"] = "hate",
        ["S11"] = "self-harm",
        ["S12"] = "sexual",
    };

    private static ModerationResult Classify(Rail rail, List<RailFinding> findings)
    {
        var categories = new Dictionary<string, bool>(StringComparer.Ordinal);
        var scores = new Dictionary<string, double>(StringComparer.Ordinal);
        var applied = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string key in s_openAiCategories)
        {
            categories[key] = false;
            scores[key] = 0;
            applied[key] = ["text"];
        }
        foreach (GuardCheck check in rail.Checks)
        {
            categories[check.Detector.Name] = false;
            scores[check.Detector.Name] = 0;
            applied[check.Detector.Name] = ["text"];
        }
        findings.RemoveAll(f => f.Error is not null && f.Action != GuardAction.Block); // a failed check with on_error: allow flags nothing
        foreach (RailFinding f in findings)
        {
            List<string> keys = [f.Finding.Detector];
            if (f.Finding.Detector == "llama_guard" && f.Error is null)
            {
                foreach (string code in f.Finding.Type.Split(','))
                {
                    keys.Add("llama_guard/" + code);
                    if (s_llamaGuardToOpenAi.TryGetValue(code, out string? openAi))
                    {
                        keys.Add(openAi);
                    }
                }
            }
            else
            {
                keys.Add($"{f.Finding.Detector}/{f.Finding.Type}");
            }
            foreach (string key in keys)
            {
                categories[key] = true;
                scores[key] = Math.Max(scores.GetValueOrDefault(key), f.Finding.Score);
                applied[key] = ["text"];
            }
        }
        return new ModerationResult { Flagged = findings.Count > 0, Categories = categories, CategoryScores = scores, CategoryAppliedInputTypes = applied };
    }

    private static List<string> Inputs(JsonElement? input)
    {
        if (input is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            throw ApiException.BadRequest("'input' is required: a string or an array of strings", "input");
        }
        if (e.ValueKind == JsonValueKind.String)
        {
            return [e.GetString()!];
        }
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest("'input' must be a string or an array of strings or text parts", "input");
        }
        int count = e.GetArrayLength();
        if (count is 0 or > MaxInputs)
        {
            throw ApiException.BadRequest($"'input' holds 1 to {MaxInputs} items, got {count}", "input");
        }
        var list = new List<string>(count);
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                list.Add(item.GetString()!);
            }
            else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String)
            {
                if (type.GetString() != "text" || !item.TryGetProperty("text", out JsonElement text) || text.ValueKind != JsonValueKind.String)
                {
                    throw ApiException.BadRequest($"input[{i}]: only text parts ({{\"type\": \"text\", \"text\": …}}) can be moderated here; images need a model", $"input[{i}]");
                }
                list.Add(text.GetString()!);
            }
            else
            {
                throw ApiException.BadRequest($"input[{i}] must be a string or a text part", $"input[{i}]");
            }
            i++;
        }
        return list;
    }
}
