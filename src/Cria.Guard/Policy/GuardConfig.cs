using System.Text;
using System.Text.Json;

using Cria.Guard.LlamaGuard;

namespace Cria.Guard.Policy;

/// <summary>
/// A policy file, loaded and checked: the default policy, and policies per model and per API key. A request's
/// policy is its key's if the key names one, else its model's, else the default (whole policies, not merged
/// stage by stage, so what a key gets is what its policy says). Immutable and shared.
/// </summary>
/// <remarks>
/// The file is JSON (comments and trailing commas allowed). The flat form is one policy:
/// <c>{"input": [CHECK…], "output": [CHECK…], "tool_calls": [CHECK…], "hold_back": 128}</c>. The full form names
/// policies and assigns them: <c>{"policies": {NAME: POLICY}, "default": NAME | POLICY, "models": {MODEL: NAME | POLICY},
/// "keys": {KEY: NAME | POLICY}}</c>, where the flat stages at the top level, if any, are the default. A CHECK is
/// <c>{"detector": NAME, "action": "block" | "redact" | "log" | "route_local", "threshold": 0.5, "types": [...], ...}</c>
/// with the detector's own options (see <see cref="PolicyReader"/>).
/// </remarks>
public sealed class GuardConfig
{
    public const int MaxFileBytes = 8 * 1024 * 1024;

    private readonly Dictionary<string, GuardPolicy> _models;
    private readonly Dictionary<string, GuardPolicy> _keys;

    internal GuardConfig(GuardPolicy defaultPolicy, Dictionary<string, GuardPolicy> models, Dictionary<string, GuardPolicy> keys, string source)
    {
        Default = defaultPolicy;
        _models = models;
        _keys = keys;
        Source = source;
    }

    /// <summary>Where the policy came from (a file path), for messages.</summary>
    public string Source { get; }

    public GuardPolicy Default { get; }

    public IReadOnlyDictionary<string, GuardPolicy> Models => _models;

    public IReadOnlyDictionary<string, GuardPolicy> Keys => _keys;

    /// <summary>Every <c>llama_guard</c> check's detector in the policies in use, once each: the host binds each to its model at start.</summary>
    public IReadOnlyList<LlamaGuardDetector> LlamaGuardChecks =>
    [
        .. new[] { Default }.Concat(_models.Values).Concat(_keys.Values).Distinct()
            .SelectMany(p => p.Input.Checks.Concat(p.Output.Checks).Concat(p.ToolCalls.Checks))
            .Select(c => c.Detector).OfType<LlamaGuardDetector>().Distinct(),
    ];

    /// <summary>The policy for a request: the key's, else the model's, else the default.</summary>
    public GuardPolicy Resolve(string? model, string? key)
    {
        if (key is not null && _keys.TryGetValue(key, out GuardPolicy? byKey))
        {
            return byKey;
        }
        if (model is not null && _models.TryGetValue(model, out GuardPolicy? byModel))
        {
            return byModel;
        }
        return Default;
    }

    /// <exception cref="GuardPolicyException">The file is missing, too large, not JSON, or names something unknown; the message has the JSON path.</exception>
    public static GuardConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new GuardPolicyException("$", $"the guard policy file '{path}' does not exist");
            }
            if (info.Length > MaxFileBytes)
            {
                throw new GuardPolicyException("$", $"the guard policy file '{path}' is {info.Length} bytes; the limit is {MaxFileBytes}");
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new GuardPolicyException("$", $"cannot read the guard policy file '{path}': {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new GuardPolicyException("$", $"cannot read the guard policy file '{path}': {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    public static GuardConfig Parse(string json, string source = "policy") => Parse(Encoding.UTF8.GetBytes(json), source);

    public static GuardConfig Parse(ReadOnlyMemory<byte> json, string source = "policy")
    {
        if (json.Length > MaxFileBytes)
        {
            throw new GuardPolicyException("$", $"the policy is {json.Length} bytes; the limit is {MaxFileBytes}");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw new GuardPolicyException("$", $"not valid JSON (line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}): {e.Message}", e);
        }
        using (doc)
        {
            return PolicyReader.Read(doc.RootElement, source);
        }
    }
}
