using System.Text.Json;
using System.Text.Json.Nodes;

using Cria.Core.Inference;
using Cria.Guard;
using Cria.Guard.Policy;
using Cria.Guard.Rails;
using Cria.Server.Audit;
using Cria.Server.Http;

namespace Cria.Server.Guard;

/// <summary>
/// One generation's output and tool-call rails. Streamed text goes through a <see cref="StreamRail"/> (nothing a
/// check would block or redact is released); a whole response is checked whole; each tool call's arguments are
/// checked value by value (a redacted string stays valid JSON). Invariant: once <see cref="Blocked"/> is set,
/// nothing more is released, and the finding is counted exactly once.
/// </summary>
internal sealed class OutputGuard
{
    private readonly GuardPolicy _policy;
    private readonly Redactor _redactor;
    private readonly GuardRails _rails;
    private readonly AuditFacts? _audit;
    private readonly StreamRail _stream;
    private int _countedFindings;

    public OutputGuard(GuardPolicy policy, Redactor redactor, GuardRails rails, AuditFacts? audit = null)
    {
        _policy = policy;
        _redactor = redactor;
        _rails = rails;
        _audit = audit;
        _stream = new StreamRail(policy.Output, redactor, policy.HoldBack);
    }

    /// <summary>The finding that stopped the output (stage and finding), once one did.</summary>
    public (GuardStage Stage, RailFinding Finding)? Blocked { get; private set; }

    public bool HasOutputRail => !_policy.Output.IsEmpty;

    /// <summary>A streamed piece in; what may be sent now out.</summary>
    public string Push(string piece)
    {
        if (!HasOutputRail || Blocked is not null)
        {
            return Blocked is null ? piece : "";
        }
        string text = _stream.Push(piece);
        Settle();
        return text;
    }

    /// <summary>The stream ended: what may be sent of the held-back rest.</summary>
    public string Finish()
    {
        if (!HasOutputRail || Blocked is not null)
        {
            return "";
        }
        string text = _stream.Finish();
        Settle();
        return text;
    }

    private void Settle()
    {
        IReadOnlyList<RailFinding> findings = _stream.Findings;
        if (findings.Count > _countedFindings)
        {
            _rails.Count(GuardStage.Output, findings.Skip(_countedFindings), _audit);
            _countedFindings = findings.Count;
        }
        if (_stream.Blocked is { } blocked && Blocked is null)
        {
            Blocked = (GuardStage.Output, blocked);
            _rails.CountBlocked(GuardStage.Output);
        }
    }

    /// <summary>A whole (non-streamed) answer: its redacted text, or empty when blocked.</summary>
    public string CheckWhole(string text)
    {
        if (!HasOutputRail)
        {
            return text;
        }
        RailResult result = _policy.Output.Evaluate(text, _redactor);
        _rails.Count(GuardStage.Output, result.Findings, _audit);
        if (result.Blocking is { } blocking)
        {
            Blocked = (GuardStage.Output, blocking);
            _rails.CountBlocked(GuardStage.Output);
            return "";
        }
        return result.Text;
    }

    /// <summary>The calls with their arguments' string values redacted; none when a check blocks one.</summary>
    public IReadOnlyList<ParsedToolCall> CheckToolCalls(IReadOnlyList<ParsedToolCall> calls)
    {
        Rail rail = _policy.ToolCalls;
        if (rail.IsEmpty || calls.Count == 0 || Blocked is not null)
        {
            return Blocked is null ? calls : [];
        }
        var checkedCalls = new List<ParsedToolCall>(calls.Count);
        foreach (ParsedToolCall call in calls)
        {
            JsonNode? args;
            try
            {
                args = JsonNode.Parse(call.ArgumentsJson);
            }
            catch (JsonException)
            {
                args = JsonValue.Create(call.ArgumentsJson);
            }
            bool changed = false;
            JsonNode? result = Walk(args, rail, ref changed);
            if (Blocked is not null)
            {
                return [];
            }
            checkedCalls.Add(changed ? call with { ArgumentsJson = result?.ToJsonString() ?? "null" } : call);
        }
        return checkedCalls;
    }

    private JsonNode? Walk(JsonNode? node, Rail rail, ref bool changed)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (string key in obj.Select(p => p.Key).ToList())
                {
                    JsonNode? value = obj[key];
                    JsonNode? walked = Walk(value, rail, ref changed);
                    if (!ReferenceEquals(walked, value))
                    {
                        obj[key] = walked;
                    }
                }
                return obj;
            case JsonArray array:
                for (int i = 0; i < array.Count; i++)
                {
                    JsonNode? value = array[i];
                    JsonNode? walked = Walk(value, rail, ref changed);
                    if (!ReferenceEquals(walked, value))
                    {
                        array[i] = walked;
                    }
                }
                return array;
            case JsonValue value when value.TryGetValue(out string? s):
                RailResult r = rail.Evaluate(s, _redactor);
                _rails.Count(GuardStage.ToolCalls, r.Findings, _audit);
                if (r.Blocking is { } blocking && Blocked is null)
                {
                    Blocked = (GuardStage.ToolCalls, blocking);
                    _rails.CountBlocked(GuardStage.ToolCalls);
                }
                if (ReferenceEquals(r.Text, s))
                {
                    return node;
                }
                changed = true;
                return JsonValue.Create(r.Text);
            default:
                return node;
        }
    }

    /// <summary>The error event a stream ends with after its content_filter finish (never the text found).</summary>
    public ApiException Error()
    {
        (GuardStage stage, RailFinding finding) = Blocked!.Value;
        return GuardRails.Blocked(stage, finding, "tool_calls");
    }
}
