using System.Security.Cryptography;
using System.Text;

namespace Cria.HubServer;

/// <summary>
/// The hub's bearer tokens, kept only as SHA-256 hashes and compared in constant time. Push tokens
/// allow everything; pull tokens allow GET and HEAD. With no pull tokens, reads are open.
/// </summary>
internal sealed class HubTokens
{
    private readonly byte[][] _push;
    private readonly byte[][] _pull;

    public HubTokens(IEnumerable<string> push, IEnumerable<string> pull)
    {
        _push = [.. push.Select(Hash)];
        _pull = [.. pull.Select(Hash)];
    }

    public bool Writable => _push.Length > 0;

    public bool ReadsNeedToken => _pull.Length > 0;

    /// <summary>Whether an <c>Authorization</c> header carries a token good for a write (or a read).</summary>
    public bool Allows(string? authorization, bool write)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || authorization.Length > 4096)
        {
            return false;
        }
        byte[] presented = Hash(authorization[7..].Trim());
        bool ok = false;
        foreach (byte[] h in write ? _push : _push.Concat(_pull))
        {
            ok |= CryptographicOperations.FixedTimeEquals(h, presented);
        }
        return ok;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
