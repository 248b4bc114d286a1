using System.Collections.Concurrent;

namespace Cria.HubServer;

/// <summary>
/// Started blob uploads (<c>POST …/blobs/uploads/</c>) waiting for their <c>PUT</c>: an id bound to one
/// repository, nothing else — the data arrives with the PUT. Bounded in number; older than an hour is
/// forgotten. An id is used once.
/// </summary>
internal sealed class UploadSessions(int max)
{
    private static readonly TimeSpan s_lifetime = TimeSpan.FromHours(1);
    private readonly ConcurrentDictionary<string, (string Repository, DateTime Started)> _open = new(StringComparer.Ordinal);

    /// <summary>A new upload id, or null when <c>max</c> are open.</summary>
    public string? Start(string repository)
    {
        DateTime now = DateTime.UtcNow;
        foreach (KeyValuePair<string, (string Repository, DateTime Started)> s in _open)
        {
            if (now - s.Value.Started > s_lifetime)
            {
                _open.TryRemove(s.Key, out _);
            }
        }
        if (_open.Count >= max)
        {
            return null;
        }
        string id = Guid.NewGuid().ToString("N");
        _open[id] = (repository, now);
        return id;
    }

    /// <summary>Ends an upload session; false when the id is unknown, expired or of another repository.</summary>
    public bool Take(string id, string repository) =>
        _open.TryRemove(id, out (string Repository, DateTime Started) s)
        && string.Equals(s.Repository, repository, StringComparison.OrdinalIgnoreCase)
        && DateTime.UtcNow - s.Started <= s_lifetime;
}
