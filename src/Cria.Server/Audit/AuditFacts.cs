using System.Security.Cryptography;
using System.Text;

using Cria.Server.Engine;
using Cria.Server.Telemetry;

using Microsoft.AspNetCore.Http;

namespace Cria.Server.Audit;

/// <summary>
/// What one request did, gathered while it runs for its audit record: the audit middleware makes it
/// at the start, the generation run fills in the model, tokens, finish reason and the hashes of
/// prompt and output when it is disposed (the point that also writes the request-log line), the
/// embedding service its model and tokens, a guard its findings. One request's code touches it at a
/// time; the output hash is fed piece by piece as the run hands its text out, so the output is never
/// kept unless <c>--audit-text</c> asks for it.
/// </summary>
internal sealed class AuditFacts
{
    private const string ItemKey = "cria.audit";

    private readonly List<GuardFinding> _findings = [];
    private IncrementalHash? _output;
    private StringBuilder? _outputText;

    public AuditFacts(bool includeText) => IncludeText = includeText;

    public bool IncludeText { get; }

    public string? Model { get; set; }

    public string? Adapters { get; set; }

    public int PromptTokens { get; set; }

    public int CompletionTokens { get; set; }

    public string? FinishReason { get; set; }

    public string? PromptSha256 { get; set; }

    public string? PromptText { get; set; }

    public IReadOnlyList<GuardFinding> Findings => _findings;

    /// <summary>The facts of this request, or null when the server does not audit.</summary>
    public static AuditFacts? Of(HttpContext http) =>
        http.Items.TryGetValue(ItemKey, out object? value) ? value as AuditFacts : null;

    public void Attach(HttpContext http) => http.Items[ItemKey] = this;

    /// <summary>A guard rail's finding (the guard calls this; never the matched text).</summary>
    public void AddFinding(GuardFinding finding) => _findings.Add(finding);

    /// <summary>A piece of output as the run hands it to the dialect.</summary>
    public void AppendOutput(string text)
    {
        _output ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _output.AppendData(Encoding.UTF8.GetBytes(text));
        if (IncludeText)
        {
            (_outputText ??= new StringBuilder()).Append(text);
        }
    }

    /// <summary>The generation's facts, when its run is disposed.</summary>
    public void OnGeneration(GenerationRun run)
    {
        Model = run.Model.Name;
        Adapters = run.Adapters.Count > 0 ? string.Join(',', run.Adapters.Select(a => a.Adapter.Name)) : null;
        PromptTokens = run.PromptTokens;
        CompletionTokens = run.Stats.GeneratedTokens;
        FinishReason = ServerMetrics.FinishLabel(run.Stats.FinishReason);
        string prompt = run.Model.Local.Tokenizer.Decode(run.Prompt, skipSpecial: false, removeSpacePrefix: false);
        PromptSha256 = AuditChain.Sha256(prompt);
        PromptText = IncludeText ? prompt : null;
        _output ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256); // an empty output has a hash too
    }

    /// <summary>The record: these facts and what the middleware measured.</summary>
    public AuditRecord ToRecord(long timeMs, string key, string method, string route, int status, long latencyMicroseconds)
    {
        string? outputSha = null;
        if (_output is not null)
        {
            outputSha = Convert.ToHexStringLower(_output.GetHashAndReset());
            _output.Dispose();
            _output = null;
        }
        return new AuditRecord
        {
            TimeMs = timeMs,
            Key = key,
            Method = method,
            Route = route,
            Status = status,
            Model = Model,
            Adapters = Adapters,
            PromptTokens = PromptTokens,
            CompletionTokens = CompletionTokens,
            LatencyMicroseconds = latencyMicroseconds,
            FinishReason = FinishReason,
            FindingsJson = AuditFindings.ToJson(_findings),
            Actions = AuditFindings.Actions(_findings),
            PromptSha256 = PromptSha256,
            OutputSha256 = outputSha,
            PromptText = PromptText,
            OutputText = IncludeText ? _outputText?.ToString() ?? (outputSha is null ? null : "") : null,
        };
    }
}
