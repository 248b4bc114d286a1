using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Cria.Hub;

/// <summary>
/// A model's name in the store and in registries: <c>[host[:port]/][namespace/]model[:tag]</c> with
/// Ollama's defaults (<c>registry.ollama.ai</c>, <c>library</c>, <c>latest</c>), so <c>llama3.2</c> is
/// <c>registry.ollama.ai/library/llama3.2:latest</c> and <c>hf.co/owner/repo:Q4_K_M</c> names a Hugging
/// Face repository and quantization. Every part is checked before it becomes a path segment
/// (<c>manifests/host/namespace/model/tag</c>): only ASCII letters, digits, <c>_</c>, <c>-</c> and
/// (except in the namespace) <c>.</c>; a part starts with a letter, digit or <c>_</c>; no <c>..</c>;
/// bounded lengths. So no name can reach outside the store. Names compare case-insensitively, as in
/// Ollama, and keep the case they were written with.
/// Reference: ollama/ollama types/model/name.go (part kinds, defaults, length limits).
/// </summary>
public sealed class ModelName : IEquatable<ModelName>
{
    public const string DefaultHost = "registry.ollama.ai";
    public const string DefaultNamespace = "library";
    public const string DefaultTag = "latest";
    public const int MaxHostLength = 350;
    public const int MaxPartLength = 80;

    /// <summary>Hugging Face repository names may be up to 96 characters.</summary>
    public const int MaxHuggingFaceModelLength = 96;

    public const int MaxNameLength = MaxHostLength + 1 + MaxPartLength + 1 + MaxHuggingFaceModelLength + 1 + MaxPartLength;

    private ModelName(string host, string ns, string model, string tag)
    {
        Host = host;
        Namespace = ns;
        Model = model;
        Tag = tag;
    }

    /// <summary>Registry host, with a port if one was given (<c>localhost:8080</c>).</summary>
    public string Host { get; }

    public string Namespace { get; }

    public string Model { get; }

    public string Tag { get; }

    /// <summary>Whether the host is Hugging Face (<c>hf.co</c> or <c>huggingface.co</c>): namespace = owner, model = repo, tag = quantization.</summary>
    public bool IsHuggingFace => IsHuggingFaceHost(Host);

    /// <summary>Parses a name and fills in the defaults.</summary>
    /// <exception cref="HubException">The name is malformed; the message names the part and the problem.</exception>
    public static ModelName Parse(string text) =>
        TryParse(text, out ModelName? name, out string? error) ? name : throw new HubException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out ModelName? name) => TryParse(text, out name, out _);

    public static bool TryParse(string? text, [NotNullWhen(true)] out ModelName? name, [NotNullWhen(false)] out string? error)
    {
        name = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "empty model name";
            return false;
        }
        if (text.Length > MaxNameLength)
        {
            error = $"model name is {text.Length} characters; at most {MaxNameLength} are allowed";
            return false;
        }
        string shown = Shown(text);
        if (text.Contains("://", StringComparison.Ordinal))
        {
            error = $"model name \"{shown}\" has a URL scheme; write it as host/namespace/model:tag";
            return false;
        }
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':' or '/'))
            {
                string what = c switch
                {
                    '\\' => "a backslash",
                    '\0' => "a NUL character",
                    ' ' => "a space",
                    _ when char.IsControl(c) => $"control character U+{(int)c:X4}",
                    _ => $"'{c}'",
                };
                error = $"model name \"{shown}\" contains {what} at position {i + 1}; names may use letters, digits, '_', '-', '.', ':' (before the tag or port) and '/' (between host, namespace and model)";
                return false;
            }
        }
        if (text[0] == '/')
        {
            error = $"model name \"{shown}\" starts with '/'; a model name is not an absolute path";
            return false;
        }

        string rest = text;
        string? tag = null;
        int lastColon = rest.LastIndexOf(':');
        if (lastColon > rest.LastIndexOf('/'))
        {
            tag = rest[(lastColon + 1)..];
            rest = rest[..lastColon];
            if (tag.Length == 0)
            {
                error = $"model name \"{shown}\" ends with ':' but has no tag after it";
                return false;
            }
        }
        string[] parts = rest.Split('/');
        if (parts.Length > 3)
        {
            error = $"model name \"{shown}\" has {parts.Length} '/'-separated parts; expected [host/][namespace/]model";
            return false;
        }
        string model = parts[^1];
        string? ns = parts.Length >= 2 ? parts[^2] : null;
        string? host = parts.Length == 3 ? parts[0] : null;

        if ((host is not null && !CheckHost(host, shown, out error))
            || (ns is not null && !CheckPart("namespace", ns, MaxPartLength, allowDot: false, shown, out error)))
        {
            return false;
        }
        int modelMax = host is not null && IsHuggingFaceHost(host) ? MaxHuggingFaceModelLength : MaxPartLength;
        if (!CheckPart("model", model, modelMax, allowDot: true, shown, out error)
            || (tag is not null && !CheckPart("tag", tag, MaxPartLength, allowDot: true, shown, out error)))
        {
            return false;
        }
        name = new ModelName(host ?? DefaultHost, ns ?? DefaultNamespace, model, tag ?? DefaultTag);
        error = null;
        return true;
    }

    /// <summary>The name with this tag instead.</summary>
    public ModelName WithTag(string tag) =>
        Parse($"{Host}/{Namespace}/{Model}:{tag}");

    /// <summary>The full name: <c>host/namespace/model:tag</c>.</summary>
    public override string ToString() => $"{Host}/{Namespace}/{Model}:{Tag}";

    /// <summary>The shortest name that parses back to this one: default host and namespace dropped (<c>llama3:latest</c>).</summary>
    public string DisplayShortest()
    {
        if (!string.Equals(Host, DefaultHost, StringComparison.OrdinalIgnoreCase))
        {
            return $"{Host}/{Namespace}/{Model}:{Tag}";
        }
        return string.Equals(Namespace, DefaultNamespace, StringComparison.OrdinalIgnoreCase)
            ? $"{Model}:{Tag}"
            : $"{Namespace}/{Model}:{Tag}";
    }

    /// <summary>The manifest's path below <c>manifests/</c>: host, namespace, model, tag.</summary>
    public string[] PathSegments() => [Host, Namespace, Model, Tag];

    public bool Equals(ModelName? other) =>
        other is not null
        && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Namespace, other.Namespace, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Model, other.Model, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Tag, other.Tag, StringComparison.OrdinalIgnoreCase);

    public override bool Equals(object? obj) => obj is ModelName n && Equals(n);

    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(ToString());

    public static bool operator ==(ModelName? a, ModelName? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(ModelName? a, ModelName? b) => !(a == b);

    /// <summary>Whether one path segment below <c>manifests/</c> is a valid part of the given kind (0 host, 1 namespace, 2 model, 3 tag).</summary>
    internal static bool IsValidSegment(int kind, string segment) => kind switch
    {
        0 => CheckHost(segment, segment, out _),
        1 => CheckPart("namespace", segment, MaxPartLength, allowDot: false, segment, out _),
        2 => CheckPart("model", segment, MaxHuggingFaceModelLength, allowDot: true, segment, out _),
        _ => CheckPart("tag", segment, MaxPartLength, allowDot: true, segment, out _),
    };

    internal static bool IsHuggingFaceHost(string host) =>
        string.Equals(host, "hf.co", StringComparison.OrdinalIgnoreCase) || string.Equals(host, "huggingface.co", StringComparison.OrdinalIgnoreCase);

    private static bool CheckHost(string host, string shown, [NotNullWhen(false)] out string? error)
    {
        string hostName = host;
        int colon = host.IndexOf(':');
        if (colon >= 0)
        {
            hostName = host[..colon];
            string port = host[(colon + 1)..];
            if (port.Length is 0 or > 5 || !port.All(char.IsAsciiDigit) || int.Parse(port, CultureInfo.InvariantCulture) is < 1 or > 65535)
            {
                error = $"model name \"{shown}\": host \"{host}\" has a bad port; expected host:1-65535";
                return false;
            }
        }
        if (host.Length > MaxHostLength)
        {
            error = $"model name \"{shown}\": the host is {host.Length} characters; at most {MaxHostLength} are allowed";
            return false;
        }
        if (hostName.Length == 0)
        {
            error = $"model name \"{shown}\" has an empty host before the first '/'";
            return false;
        }
        foreach (string label in hostName.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63 || label[0] == '-' || label[^1] == '-' || !label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                error = $"model name \"{shown}\": host \"{hostName}\" is not a valid host name (dot-separated labels of letters, digits, '-' and '_', 1-63 characters each)";
                return false;
            }
        }
        error = null;
        return true;
    }

    private static bool CheckPart(string kind, string part, int maxLength, bool allowDot, string shown, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (part.Length == 0)
        {
            error = $"model name \"{shown}\" has an empty {kind}";
        }
        else if (part.Length > maxLength)
        {
            error = $"model name \"{shown}\": the {kind} is {part.Length} characters; at most {maxLength} are allowed";
        }
        else if (!(char.IsAsciiLetterOrDigit(part[0]) || part[0] == '_'))
        {
            error = $"model name \"{shown}\": the {kind} \"{part}\" must start with a letter, digit or '_'";
        }
        else if (part.Contains("..", StringComparison.Ordinal))
        {
            error = $"model name \"{shown}\": the {kind} \"{part}\" contains \"..\"";
        }
        else
        {
            foreach (char c in part)
            {
                bool ok = char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || (c == '.' && allowDot);
                if (!ok)
                {
                    error = c == '.'
                        ? $"model name \"{shown}\": the {kind} \"{part}\" may not contain '.'" + (kind == "namespace" ? " (did you mean host/namespace/model?)" : "")
                        : $"model name \"{shown}\": the {kind} \"{part}\" may not contain '{c}'";
                    break;
                }
            }
        }
        return error is null;
    }

    private static string Shown(string text) => Digest.Printable(text.Length > 120 ? text[..120] + "…" : text);
}
