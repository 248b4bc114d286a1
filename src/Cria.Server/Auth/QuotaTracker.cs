namespace Cria.Server.Auth;

/// <summary>
/// Per-key requests-per-minute and tokens-per-minute quotas over a sliding one-minute window, in
/// memory. Invariant: each key's window holds the admissions (and the tokens charged to them) of the
/// last 60 seconds, oldest first; a request is admitted only while both sums are under the key's
/// limits, and a refusal says how long until the oldest entry leaves the window.
/// Tokens are known only when a request ends, so a request is judged by the tokens of those before it.
/// </summary>
public sealed class QuotaTracker(TimeProvider time)
{
    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, Queue<Entry>> _windows = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public QuotaTracker()
        : this(TimeProvider.System)
    {
    }

    /// <summary>
    /// Admits a request for <paramref name="key"/>, or returns the whole seconds (at least 1) to wait
    /// before one would be admitted. The returned ticket charges the request's tokens later.
    /// </summary>
    public bool TryAdmit(ApiKey key, out Ticket ticket, out int retryAfterSeconds)
    {
        ArgumentNullException.ThrowIfNull(key);
        ticket = default;
        retryAfterSeconds = 0;
        if (key.RequestsPerMinute == 0 && key.TokensPerMinute == 0)
        {
            return true;
        }
        DateTimeOffset now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_windows.TryGetValue(key.Name, out Queue<Entry>? window))
            {
                window = new Queue<Entry>();
                _windows[key.Name] = window;
            }
            while (window.TryPeek(out Entry oldest) && now - oldest.At >= s_window)
            {
                window.Dequeue();
            }
            long tokens = 0;
            foreach (Entry e in window)
            {
                tokens += Interlocked.Read(ref e.Tokens.Value);
            }
            bool overRequests = key.RequestsPerMinute > 0 && window.Count >= key.RequestsPerMinute;
            bool overTokens = key.TokensPerMinute > 0 && tokens >= key.TokensPerMinute;
            if (overRequests || overTokens)
            {
                TimeSpan wait = window.Peek().At + s_window - now;
                retryAfterSeconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                return false;
            }
            var entry = new Entry(now, new TokenCount());
            window.Enqueue(entry);
            ticket = new Ticket(entry.Tokens);
            return true;
        }
    }

    /// <summary>Charges tokens to an admitted request (a default ticket, from an unlimited key, ignores them).</summary>
    public readonly struct Ticket
    {
        private readonly TokenCount? _count;

        internal Ticket(TokenCount count) => _count = count;

        public void Charge(int tokens)
        {
            if (_count is not null)
            {
                Interlocked.Add(ref _count.Value, tokens);
            }
        }
    }

    internal sealed class TokenCount
    {
        public long Value;
    }

    private readonly record struct Entry(DateTimeOffset At, TokenCount Tokens);
}
