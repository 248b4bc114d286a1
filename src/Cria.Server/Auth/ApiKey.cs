namespace Cria.Server.Auth;

/// <summary>
/// A stored API key as the server sees it; the secret itself is never stored, only its SHA-256.
/// Zero limits mean "no limit"; an empty model list allows every model.
/// </summary>
public sealed record ApiKey(
    string Name,
    string Prefix,
    int RequestsPerMinute,
    int TokensPerMinute,
    IReadOnlyList<string> Models,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;

    /// <summary>Whether this key may use the model named <paramref name="model"/> (case-insensitive).</summary>
    public bool AllowsModel(string model)
    {
        if (Models.Count == 0)
        {
            return true;
        }
        foreach (string allowed in Models)
        {
            if (string.Equals(allowed, model, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
