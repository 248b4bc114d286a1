using System.Security.Cryptography;
using System.Text;

namespace Cria.HubServer;

/// <summary>What the hub answers a request, before any route runs.</summary>
internal enum HubAccess
{
    Allowed,

    /// <summary>No token, or not one the hub knows: 401 with <c>WWW-Authenticate</c>.</summary>
    Unauthorized,

    /// <summary>A known token without the grant for this write: 403.</summary>
    Forbidden,

    /// <summary>A known token reading a private namespace it has no grant for: 404, so the namespace's repositories are not revealed (as the Hugging Face Hub answers for private repositories).</summary>
    Hidden,
}

/// <summary>
/// The hub's bearer tokens with their grants (<see cref="HubTokenGrant"/>), kept only as SHA-256 hashes and
/// compared in constant time against every one. Writes need a token that may push to the route's namespace;
/// reads of a private namespace need one that may pull from it; other reads are open.
/// </summary>
internal sealed class HubTokens
{
    private readonly (byte[] Hash, HubTokenGrant Grant)[] _tokens;
    private readonly IReadOnlyList<string> _private;

    public HubTokens(IEnumerable<HubTokenGrant> grants, IReadOnlyList<string> privateNamespaces)
    {
        _tokens = [.. grants.Select(g => (Hash(g.Token), g with { Token = "" }))];
        _private = privateNamespaces;
    }

    /// <summary>Whether any token may push somewhere (without one the hub is read-only: writes get 403).</summary>
    public bool Writable => _tokens.Any(t => t.Grant.Push.Count > 0);

    /// <summary>Whether reads in <paramref name="ns"/> need a token (null: a route of no namespace, private only when every namespace is).</summary>
    public bool IsPrivate(string? ns) =>
        ns is null ? _private.Contains(HubTokenGrant.Everywhere) : HubTokenGrant.Covers(_private, ns);

    /// <summary>What a request with this <c>Authorization</c> header may do in <paramref name="ns"/> (null: the route names none).</summary>
    public HubAccess Decide(string? authorization, string? ns, bool write)
    {
        if (!write && !IsPrivate(ns))
        {
            return HubAccess.Allowed;
        }
        HubTokenGrant? grant = Find(authorization);
        if (grant is null)
        {
            return HubAccess.Unauthorized;
        }
        if (write)
        {
            return grant.MayPush(ns) ? HubAccess.Allowed : HubAccess.Forbidden;
        }
        return grant.MayPull(ns) ? HubAccess.Allowed : HubAccess.Hidden;
    }

    private HubTokenGrant? Find(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || authorization.Length > 4096)
        {
            return null;
        }
        byte[] presented = Hash(authorization[7..].Trim());
        HubTokenGrant? found = null;
        foreach ((byte[] hash, HubTokenGrant grant) in _tokens)
        {
            // every hash is compared, so the time taken says nothing about which (if any) matched
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                found = grant;
            }
        }
        return found;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
