using System.Text.Json;

using Cria.Guard.Detectors;
using Cria.Guard.LlamaGuard;
using Cria.Guard.Rails;

namespace Cria.Guard.Policy;

/// <summary>
/// Reads a policy file's JSON into policies, refusing anything it does not know with the JSON path of it:
/// <c>$.input[1].detector: unknown detector "pi" (known: pii, secrets, injection, keywords, regex)</c>.
/// Every check takes <c>detector</c>, <c>action</c>, <c>threshold</c> (0–1, default 0.5), <c>types</c> (the
/// detector's types, default all) and <c>on_error</c> (<c>block</c> or <c>allow</c>); <c>keywords</c> also takes
/// <c>words</c> (required), <c>case_sensitive</c>, <c>whole_word</c>, <c>type</c>, <c>label</c>; <c>regex</c>
/// takes <c>patterns</c> or <c>pattern</c> (required), <c>case_sensitive</c>, <c>type</c>, <c>label</c>;
/// <c>llama_guard</c> takes <c>model</c> (required) and <c>categories</c> (S1–S14, default S1–S13).
/// </summary>
internal static class PolicyReader
{
    public static readonly string[] Detectors = ["pii", "secrets", "injection", "keywords", "regex", "llama_guard"];

    private static readonly string[] s_stageKeys = ["input", "output", "tool_calls", "hold_back"];
    private static readonly string[] s_topKeys = ["input", "output", "tool_calls", "hold_back", "default", "policies", "models", "keys"];
    private static readonly string[] s_commonKeys = ["detector", "action", "threshold", "types", "on_error"];
    private static readonly string[] s_keywordKeys = ["words", "case_sensitive", "whole_word", "type", "label"];
    private static readonly string[] s_regexKeys = ["patterns", "pattern", "case_sensitive", "type", "label"];
    private static readonly string[] s_llamaGuardKeys = ["model", "categories"];

    public static GuardConfig Read(JsonElement root, string source)
    {
        Expect(root, JsonValueKind.Object, "$", "the policy must be a JSON object");
        foreach (JsonProperty p in root.EnumerateObject())
        {
            if (Array.IndexOf(s_topKeys, p.Name) < 0)
            {
                throw new GuardPolicyException(Path("$", p.Name), $"unknown key \"{p.Name}\" (a policy file has {string.Join(", ", s_topKeys)})");
            }
        }
        var named = new Dictionary<string, GuardPolicy>(StringComparer.Ordinal);
        if (root.TryGetProperty("policies", out JsonElement policies))
        {
            Expect(policies, JsonValueKind.Object, "$.policies", "\"policies\" must be an object of named policies");
            foreach (JsonProperty p in policies.EnumerateObject())
            {
                named[p.Name] = ReadPolicy(p.Value, Path("$.policies", p.Name), p.Name);
            }
        }
        bool flat = root.TryGetProperty("input", out _) || root.TryGetProperty("output", out _) || root.TryGetProperty("tool_calls", out _) || root.TryGetProperty("hold_back", out _);
        GuardPolicy defaultPolicy;
        if (root.TryGetProperty("default", out JsonElement def))
        {
            if (flat)
            {
                throw new GuardPolicyException("$.default", "give the default policy either as \"default\" or as top-level stages, not both");
            }
            defaultPolicy = Reference(def, "$.default", named, "default");
        }
        else
        {
            defaultPolicy = flat ? ReadPolicy(root, "$", "default", s_topKeys) : GuardPolicy.None;
        }
        var models = Assignments(root, "models", named);
        var keys = Assignments(root, "keys", named);
        return new GuardConfig(defaultPolicy, models, keys, source);
    }

    private static Dictionary<string, GuardPolicy> Assignments(JsonElement root, string name, Dictionary<string, GuardPolicy> named)
    {
        var map = new Dictionary<string, GuardPolicy>(StringComparer.Ordinal);
        if (!root.TryGetProperty(name, out JsonElement e))
        {
            return map;
        }
        Expect(e, JsonValueKind.Object, "$." + name, $"\"{name}\" must be an object mapping each name to a policy name or a policy");
        foreach (JsonProperty p in e.EnumerateObject())
        {
            map[p.Name] = Reference(p.Value, Path("$." + name, p.Name), named, p.Name);
        }
        return map;
    }

    private static GuardPolicy Reference(JsonElement e, string path, Dictionary<string, GuardPolicy> named, string name)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            string policy = e.GetString()!;
            return named.TryGetValue(policy, out GuardPolicy? p)
                ? p
                : throw new GuardPolicyException(path, $"unknown policy \"{policy}\" (defined in \"policies\": {(named.Count == 0 ? "none" : string.Join(", ", named.Keys))})");
        }
        return ReadPolicy(e, path, name);
    }

    private static GuardPolicy ReadPolicy(JsonElement e, string path, string name, string[]? allowed = null)
    {
        Expect(e, JsonValueKind.Object, path, "a policy must be an object with \"input\", \"output\" and/or \"tool_calls\"");
        allowed ??= s_stageKeys;
        foreach (JsonProperty p in e.EnumerateObject())
        {
            if (Array.IndexOf(allowed, p.Name) < 0)
            {
                throw new GuardPolicyException(Path(path, p.Name), $"unknown key \"{p.Name}\" (a policy has {string.Join(", ", s_stageKeys)})");
            }
        }
        int holdBack = GuardPolicy.DefaultHoldBack;
        if (e.TryGetProperty("hold_back", out JsonElement hb))
        {
            if (hb.ValueKind != JsonValueKind.Number || !hb.TryGetInt32(out holdBack) || holdBack is < 8 or > 65536)
            {
                throw new GuardPolicyException(Path(path, "hold_back"), "hold_back is a whole number of characters from 8 to 65536");
            }
        }
        return new GuardPolicy(name, Stage(e, path, GuardStage.Input), Stage(e, path, GuardStage.Output), Stage(e, path, GuardStage.ToolCalls), holdBack);
    }

    private static Rail Stage(JsonElement policy, string path, GuardStage stage)
    {
        string key = GuardStages.Name(stage);
        if (!policy.TryGetProperty(key, out JsonElement list))
        {
            return new Rail(stage, []);
        }
        string listPath = Path(path, key);
        Expect(list, JsonValueKind.Array, listPath, $"\"{key}\" must be an array of checks");
        var checks = new List<GuardCheck>();
        int i = 0;
        foreach (JsonElement check in list.EnumerateArray())
        {
            checks.Add(Check(check, $"{listPath}[{i}]"));
            i++;
        }
        return new Rail(stage, checks);
    }

    private static GuardCheck Check(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path, "a check must be an object like {\"detector\": \"pii\", \"action\": \"redact\"}");
        if (!e.TryGetProperty("detector", out JsonElement d) || d.ValueKind != JsonValueKind.String)
        {
            throw new GuardPolicyException(Path(path, "detector"), $"a check needs \"detector\", a string (known: {string.Join(", ", Detectors)})");
        }
        string detector = d.GetString()!;
        string[] own = detector switch
        {
            "pii" or "secrets" or "injection" => [],
            "keywords" => s_keywordKeys,
            "regex" => s_regexKeys,
            "llama_guard" => s_llamaGuardKeys,
            "prompt_guard" => throw new GuardPolicyException(Path(path, "detector"), $"unknown detector \"{detector}\": Prompt Guard is not supported by this build yet (known: {string.Join(", ", Detectors)})"),
            _ => throw new GuardPolicyException(Path(path, "detector"), $"unknown detector \"{detector}\" (known: {string.Join(", ", Detectors)})"),
        };
        foreach (JsonProperty p in e.EnumerateObject())
        {
            if (Array.IndexOf(s_commonKeys, p.Name) < 0 && Array.IndexOf(own, p.Name) < 0)
            {
                throw new GuardPolicyException(Path(path, p.Name), $"unknown key \"{p.Name}\" (a {detector} check takes {string.Join(", ", s_commonKeys.Concat(own))})");
            }
        }
        if (!e.TryGetProperty("action", out JsonElement a) || a.ValueKind != JsonValueKind.String || !GuardActions.TryParse(a.GetString(), out GuardAction action))
        {
            string got = e.TryGetProperty("action", out a) ? a.ValueKind == JsonValueKind.String ? $"unknown action \"{a.GetString()}\"" : "\"action\" must be a string" : "a check needs \"action\"";
            throw new GuardPolicyException(Path(path, "action"), $"{got} (known: block, redact, log, route_local)");
        }
        double threshold = 0.5;
        if (e.TryGetProperty("threshold", out JsonElement t))
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetDouble(out threshold) || threshold is < 0 or > 1 || double.IsNaN(threshold))
            {
                throw new GuardPolicyException(Path(path, "threshold"), "threshold is a number from 0 to 1");
            }
        }
        bool onErrorBlocks = true;
        if (e.TryGetProperty("on_error", out JsonElement oe))
        {
            onErrorBlocks = oe.ValueKind == JsonValueKind.String && oe.GetString() is "block" or "allow"
                ? oe.GetString() == "block"
                : throw new GuardPolicyException(Path(path, "on_error"), "on_error is \"block\" (fail closed) or \"allow\"");
        }
        IReadOnlyList<string>? types = e.TryGetProperty("types", out JsonElement ty) ? Types(ty, Path(path, "types"), detector) : null;
        Detector det = detector switch
        {
            "pii" => new PiiDetector(types),
            "secrets" => new SecretsDetector(types),
            "injection" => new InjectionDetector(types),
            "keywords" => Keywords(e, path),
            "llama_guard" => LlamaGuard(e, path),
            _ => Regexes(e, path),
        };
        return new GuardCheck(det, action, threshold, onErrorBlocks);
    }

    private static IReadOnlyList<string> Types(JsonElement e, string path, string detector)
    {
        IReadOnlyList<string>? known = detector switch
        {
            "pii" => [.. PiiDetector.AllTypes, "ip"],
            "secrets" => SecretsDetector.AllTypes,
            "injection" => InjectionDetector.AllTypes,
            _ => null,
        };
        if (known is null)
        {
            throw new GuardPolicyException(path, $"a {detector} check has no types; name its findings with \"type\"");
        }
        List<string> types = Strings(e, path, 1000);
        for (int i = 0; i < types.Count; i++)
        {
            if (!known.Contains(types[i]))
            {
                throw new GuardPolicyException($"{path}[{i}]", $"unknown {detector} type \"{types[i]}\" (known: {string.Join(", ", known)})");
            }
        }
        return types;
    }

    private static KeywordsDetector Keywords(JsonElement e, string path)
    {
        if (!e.TryGetProperty("words", out JsonElement w))
        {
            throw new GuardPolicyException(Path(path, "words"), "a keywords check needs \"words\", an array of strings");
        }
        List<string> words = Strings(w, Path(path, "words"), KeywordsDetector.MaxWords);
        for (int i = 0; i < words.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(words[i]) || words[i].Length > KeywordsDetector.MaxWordLength)
            {
                throw new GuardPolicyException($"{Path(path, "words")}[{i}]", $"a keyword is 1 to {KeywordsDetector.MaxWordLength} characters and not blank");
            }
        }
        if (words.Count == 0)
        {
            throw new GuardPolicyException(Path(path, "words"), "the list of words is empty");
        }
        return new KeywordsDetector(words, Bool(e, path, "case_sensitive", false), Bool(e, path, "whole_word", true), Text(e, path, "type") ?? "keyword", Label(e, path));
    }

    private static LlamaGuardDetector LlamaGuard(JsonElement e, string path)
    {
        if (!e.TryGetProperty("model", out JsonElement m) || m.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(m.GetString()) || m.GetString()!.Length > 4096)
        {
            throw new GuardPolicyException(Path(path, "model"), "a llama_guard check needs \"model\", a model name or a GGUF path (1 to 4096 characters)");
        }
        IReadOnlyList<string> categories = LlamaGuardCategories.Default;
        if (e.TryGetProperty("categories", out JsonElement c))
        {
            string at = Path(path, "categories");
            List<string> codes = Strings(c, at, 14);
            for (int i = 0; i < codes.Count; i++)
            {
                if (!LlamaGuardCategories.IsKnown(codes[i]))
                {
                    throw new GuardPolicyException($"{at}[{i}]", $"unknown Llama Guard category \"{codes[i]}\" (known: S1 to S14; S14 only for Llama Guard 3-8B)");
                }
                if (codes.IndexOf(codes[i]) < i)
                {
                    throw new GuardPolicyException($"{at}[{i}]", $"category \"{codes[i]}\" is listed twice");
                }
            }
            if (codes.Count == 0)
            {
                throw new GuardPolicyException(at, "the list of categories is empty");
            }
            categories = codes;
        }
        return new LlamaGuardDetector(m.GetString()!, categories);
    }

    private static RegexDetector Regexes(JsonElement e, string path)
    {
        bool many = e.TryGetProperty("patterns", out JsonElement ps);
        bool one = e.TryGetProperty("pattern", out JsonElement p);
        if (many == one)
        {
            throw new GuardPolicyException(Path(path, "patterns"), "a regex check needs \"patterns\" (an array of strings) or \"pattern\" (a string), not both");
        }
        string listPath = Path(path, many ? "patterns" : "pattern");
        List<string> patterns = many ? Strings(ps, listPath, RegexDetector.MaxPatterns) : [Text(e, path, "pattern")!];
        for (int i = 0; i < patterns.Count; i++)
        {
            try
            {
                _ = new RegexDetector([patterns[i]]);
            }
            catch (ArgumentException x)
            {
                throw new GuardPolicyException(many ? $"{listPath}[{i}]" : listPath, x.Message.Replace("pattern 0 ", "the pattern ", StringComparison.Ordinal));
            }
        }
        try
        {
            return new RegexDetector(patterns, Bool(e, path, "case_sensitive", true), Text(e, path, "type") ?? "regex", Label(e, path));
        }
        catch (ArgumentException x)
        {
            throw new GuardPolicyException(listPath, x.Message);
        }
    }

    private static string? Label(JsonElement e, string path)
    {
        string? label = Text(e, path, "label");
        if (label is not null && (label.Length is 0 or > 64 || label.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_')))
        {
            throw new GuardPolicyException(Path(path, "label"), "a label is 1 to 64 letters, digits or underscores (it becomes [LABEL])");
        }
        return label;
    }

    private static List<string> Strings(JsonElement e, string path, int max)
    {
        Expect(e, JsonValueKind.Array, path, "must be an array of strings");
        int count = e.GetArrayLength();
        if (count > max)
        {
            throw new GuardPolicyException(path, $"{count} entries; the limit is {max}");
        }
        var list = new List<string>(count);
        int i = 0;
        foreach (JsonElement s in e.EnumerateArray())
        {
            Expect(s, JsonValueKind.String, $"{path}[{i}]", "must be a string");
            list.Add(s.GetString()!);
            i++;
        }
        return list;
    }

    private static string? Text(JsonElement e, string path, string key)
    {
        if (!e.TryGetProperty(key, out JsonElement v))
        {
            return null;
        }
        Expect(v, JsonValueKind.String, Path(path, key), $"\"{key}\" must be a string");
        return v.GetString();
    }

    private static bool Bool(JsonElement e, string path, string key, bool fallback)
    {
        if (!e.TryGetProperty(key, out JsonElement v))
        {
            return fallback;
        }
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new GuardPolicyException(Path(path, key), $"\"{key}\" must be true or false"),
        };
    }

    private static void Expect(JsonElement e, JsonValueKind kind, string path, string problem)
    {
        if (e.ValueKind != kind)
        {
            throw new GuardPolicyException(path, problem);
        }
    }

    /// <summary>JSONPath of a member: <c>$.input</c>, or <c>$.models["my model"]</c> when the name is not an identifier.</summary>
    private static string Path(string parent, string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !char.IsAsciiDigit(name[0])
            ? $"{parent}.{name}"
            : $"{parent}[{JsonSerializer.Serialize(name, PolicyJson.Default.String)}]";
}
