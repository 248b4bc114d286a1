namespace Cria.HubServer;

/// <summary>
/// A hub token and what it may do: the namespaces it may pull from and push to (<c>*</c>: every one). A push
/// grant on a namespace implies pull on it. One hub can hold several tenants this way: Alice's token pushes
/// only to <c>alice/…</c>, and a namespace marked private (<see cref="HubServerOptions.PrivateNamespaces"/>)
/// is read only by tokens granted it.
/// </summary>
/// <remarks>
/// A token file has one token per line, optionally followed by grants separated by spaces:
/// <c>TOKEN</c> (push and pull everywhere, as before grants existed), <c>TOKEN push:alice pull:*</c>,
/// <c>TOKEN pull:team-x</c>. Blank lines and lines starting with <c>#</c> are skipped.
/// </remarks>
public sealed record HubTokenGrant
{
    /// <summary>A token file larger than this is refused before it is read.</summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>Grants on one line at most (a line is a token and its scopes, not a list of every namespace).</summary>
    public const int MaxScopesPerToken = 256;

    public const string Everywhere = "*";

    public required string Token { get; init; }

    /// <summary>Namespaces this token may pull from (besides those it may push to).</summary>
    public IReadOnlyList<string> Pull { get; init; } = [];

    /// <summary>Namespaces this token may push to (and pull from).</summary>
    public IReadOnlyList<string> Push { get; init; } = [];

    /// <summary>A token that may push and pull everywhere.</summary>
    public static HubTokenGrant Admin(string token) => new() { Token = token, Push = [Everywhere] };

    /// <summary>A token that may pull everywhere.</summary>
    public static HubTokenGrant Reader(string token) => new() { Token = token, Pull = [Everywhere] };

    public bool MayPush(string? ns) => Covers(Push, ns);

    public bool MayPull(string? ns) => Covers(Push, ns) || Covers(Pull, ns);

    /// <summary>Whether a list of namespaces covers <paramref name="ns"/> (null: a route of no namespace, which any grant covers).</summary>
    internal static bool Covers(IReadOnlyList<string> scopes, string? ns)
    {
        foreach (string s in scopes)
        {
            if (ns is null || s == Everywhere || string.Equals(s, ns, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether <paramref name="ns"/> can name a namespace (letters, digits, <c>_ - .</c>, at most 96 characters) or is <c>*</c>.</summary>
    public static bool IsValidScope(string ns) =>
        ns == Everywhere || (ns.Length is > 0 and <= 96 && ns.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') && ns[0] is not ('.' or '-'));

    /// <summary>Reads a token file (see the remarks on this type).</summary>
    /// <exception cref="ArgumentException">The file is too large, or a line has a grant that is not <c>push:NS</c> or <c>pull:NS</c>; the message names the file and line, never the token.</exception>
    public static IReadOnlyList<HubTokenGrant> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (new FileInfo(path) is { Exists: true, Length: > MaxFileBytes })
        {
            throw new ArgumentException($"token file {path} is larger than {MaxFileBytes >> 20} MiB");
        }
        var grants = new List<HubTokenGrant>();
        string[] lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            grants.Add(ParseLine(line, $"{path}:{i + 1}"));
        }
        return grants;
    }

    /// <summary>One line of a token file; <paramref name="where"/> (file:line) goes into errors instead of the token.</summary>
    public static HubTokenGrant ParseLine(string line, string where)
    {
        string[] parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new ArgumentException($"{where}: no token");
        }
        if (parts.Length - 1 > MaxScopesPerToken)
        {
            throw new ArgumentException($"{where}: {parts.Length - 1} grants; at most {MaxScopesPerToken} per token");
        }
        if (parts.Length == 1)
        {
            return Admin(parts[0]);
        }
        var pull = new List<string>();
        var push = new List<string>();
        foreach (string grant in parts.AsSpan(1))
        {
            int colon = grant.IndexOf(':', StringComparison.Ordinal);
            string kind = colon < 0 ? grant : grant[..colon];
            string ns = colon < 0 ? "" : grant[(colon + 1)..];
            List<string>? target = kind switch { "push" => push, "pull" => pull, _ => null };
            if (target is null || !IsValidScope(ns))
            {
                string shown = grant.Length > 40 ? grant[..40] + "…" : grant;
                throw new ArgumentException($"{where}: grant \"{shown}\" is not push:NAMESPACE or pull:NAMESPACE (a namespace, or * for every one)");
            }
            target.Add(ns);
        }
        return new HubTokenGrant { Token = parts[0], Pull = pull, Push = push };
    }
}
