using Cria.Guard;
using Cria.Guard.Policy;
using Cria.Guard.Rails;
using Cria.Server.Audit;
using Cria.Server.Http;
using Cria.Server.Requests;
using Cria.Server.Telemetry;
using Cria.Templates;

namespace Cria.Server.Guard;

/// <summary>
/// The server's guard rails (<c>--guard FILE</c>), applied once in the request lifecycle
/// (<see cref="GenerationService"/>) for every dialect: the policy for a request's model and key, its input rail
/// over every message (system prompts and tool results included) or the raw prompt — a block is a 400
/// <c>content_filter</c> before any model is loaded, a redaction is what the model sees — and an
/// <see cref="OutputGuard"/> for what the model writes. Every finding is counted on <c>/metrics</c> and goes into
/// the request's audit record (detector, type, offsets, the stage as its category, the action — never the text).
/// </summary>
internal sealed class GuardRails(GuardConfig? config, ServerMetrics metrics)
{
    public bool Enabled => config is not null;

    public GuardPolicy Resolve(string? model, string? key) => config?.Resolve(model, key) ?? GuardPolicy.None;

    /// <summary>The request as the model may see it: unchanged, redacted, or refused (400 <c>content_filter</c>).</summary>
    public async Task<GenerationRequest> CheckInputAsync(GenerationRequest request, GuardPolicy policy, Redactor redactor, AuditFacts? audit = null,
        CancellationToken cancel = default)
    {
        Rail rail = policy.Input;
        if (rail.IsEmpty)
        {
            return request;
        }
        if (request.Messages is { } messages)
        {
            ChatMessage[]? changed = null;
            for (int i = 0; i < messages.Count; i++)
            {
                if (messages[i].Content is not { Length: > 0 } content)
                {
                    continue;
                }
                RailResult result = await EvaluateAsync(rail, content, redactor, $"messages[{i}]", audit, cancel).ConfigureAwait(false);
                if (!ReferenceEquals(result.Text, content))
                {
                    changed ??= [.. messages];
                    changed[i] = messages[i] with { Content = result.Text };
                }
            }
            return changed is null ? request : request with { Messages = changed };
        }
        if (request.Prompt is { Length: > 0 } prompt)
        {
            RailResult result = await EvaluateAsync(rail, prompt, redactor, "prompt", audit, cancel).ConfigureAwait(false);
            return ReferenceEquals(result.Text, prompt) ? request : request with { Prompt = result.Text };
        }
        return request;
    }

    /// <summary>A model-backed check (<c>llama_guard</c>) makes the rail asynchronous; it judges each message as a user turn.</summary>
    private async ValueTask<RailResult> EvaluateAsync(Rail rail, string text, Redactor redactor, string where, AuditFacts? audit, CancellationToken cancel)
    {
        RailResult result = rail.IsSynchronous ? rail.Evaluate(text, redactor) : await rail.EvaluateAsync(text, redactor, cancel).ConfigureAwait(false);
        Count(GuardStage.Input, result.Findings, audit);
        if (result.Blocking is { } blocking)
        {
            metrics.OnGuardBlocked("input");
            throw Blocked(GuardStage.Input, blocking, where);
        }
        return result;
    }

    public OutputGuard? ForOutput(GuardPolicy policy, Redactor redactor, AuditFacts? audit = null) =>
        policy.Output.IsEmpty && policy.ToolCalls.IsEmpty ? null : new OutputGuard(policy, redactor, this, audit);

    public void Count(GuardStage stage, IEnumerable<RailFinding> findings, AuditFacts? audit)
    {
        string stageName = GuardStages.Name(stage);
        foreach (RailFinding f in findings)
        {
            string action = GuardActions.Name(f.Action);
            metrics.OnGuardFinding(stageName, f.Finding.Detector, f.Finding.Type, action);
            audit?.AddFinding(new GuardFinding(f.Finding.Detector, f.Finding.Type, f.Finding.Start, f.Finding.End, stageName, action));
        }
    }

    public void CountBlocked(GuardStage stage) => metrics.OnGuardBlocked(GuardStages.Name(stage));

    /// <summary>The error a block becomes: 400 with code <c>content_filter</c>, the detector and type named (never the text it found).</summary>
    public static ApiException Blocked(GuardStage stage, RailFinding finding, string where)
    {
        string what = stage switch
        {
            GuardStage.Input when finding.Error is { } error => $"the input was blocked by the guard: detector '{finding.Finding.Detector}' failed on {where} (on_error: block): {error}",
            GuardStage.Input => $"the input was blocked by the guard: detector '{finding.Finding.Detector}' found '{finding.Finding.Type}' in {where}",
            GuardStage.Output => $"the output was stopped by the guard: detector '{finding.Finding.Detector}' found '{finding.Finding.Type}'",
            _ => $"a tool call was blocked by the guard: detector '{finding.Finding.Detector}' found '{finding.Finding.Type}' in {where}",
        };
        return new ApiException(400, what, stage == GuardStage.Input ? where.Split('[')[0] : null, "content_filter");
    }
}
