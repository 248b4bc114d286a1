using Cria.Hosting;

namespace Cria.Server;

/// <summary>What <c>cria serve</c> was asked for. Zero means "the default" for the numeric settings.</summary>
public sealed record ServerOptions
{
    /// <summary>The bundled model's file name, looked up under <c>models/</c> next to the binary.</summary>
    public const string DefaultModelFile = "stories260K.gguf";

    /// <summary>
    /// GGUF files to serve, each <c>PATH</c> or <c>NAME=PATH</c>; a request's <c>model</c> is the name, by
    /// default the file name without extension. Empty: the bundled model.
    /// </summary>
    public IReadOnlyList<string> ModelPaths { get; init; } = [];

    /// <summary>Other names for served models (<c>--alias gpt-4o-mini=stories260K</c>): alias → model name.</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// LoRA adapters requests may use (<c>--adapter NAME=FILE</c>): a request names one as model
    /// <c>base+NAME</c> (several: <c>base+a+b</c>) or with <c>"adapter": "NAME"</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Adapters { get; init; } = new Dictionary<string, string>();

    /// <summary>Adapters a model always applies (a stored model's ADAPTER layers): model name → adapter names.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ModelAdapters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>How long a model stays loaded after its last request (Ollama's default, 5 minutes); negative: forever; zero: unload at once.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Most models loaded at once (0: no limit); loading one more unloads the least recently used idle one.</summary>
    public int MaxLoadedModels { get; init; } = 3;

    /// <summary>Bytes the loaded models (files plus KV caches) may take together (0: no limit); idle models are unloaded to make room.</summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>Whether the request log line includes the prompt and the generated text (off by default: prompts are the users' data).</summary>
    public bool LogPrompts { get; init; }

    /// <summary>Guard rails (<c>--guard FILE</c>, loaded and checked by <see cref="Cria.Guard.Policy.GuardConfig.Load"/>); null: none.</summary>
    public Cria.Guard.Policy.GuardConfig? Guard { get; init; }

    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the OS pick one (tests).</summary>
    public int Port { get; init; } = 11435;

    /// <summary>Context length of each sequence slot (0: the model's, at most 4096).</summary>
    public int ContextLength { get; init; }

    /// <summary>Positions the paged KV cache of each model holds for all its sequences (0: --ctx × --parallel); at least one context.</summary>
    public int KvBudgetTokens { get; init; }

    /// <summary>Element type of every model's KV cache (Q8_0 needs a head size that is a multiple of 32).</summary>
    public Core.Models.KvCacheType KvCacheType { get; init; } = Core.Models.KvCacheType.F16;

    /// <summary>Generations that run at the same time; more requests wait in the queue.</summary>
    public int Parallel { get; init; } = 1;

    /// <summary>Requests that may wait for a slot; one more gets 429 with Retry-After.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Largest request body accepted (413 above it).</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;

    /// <summary>
    /// Most tokens one request may generate (<c>--max-tokens</c>; 0: up to the context). A request asking
    /// for more (<c>max_tokens</c>, <c>max_completion_tokens</c>, <c>num_predict</c>) is clamped to it and
    /// ends with finish reason <c>length</c>; one asking for nothing gets this (or the rest of the context).
    /// </summary>
    public int MaxTokens { get; init; }

    /// <summary>
    /// Requests per minute each caller may send (<c>--rate-limit N/min</c>; 0: off): a caller is its API key
    /// (a key's own requests-per-minute limit, when set, takes the place of this one) or, on a server
    /// without keys, its IP address. One more answers 429 with <c>Retry-After</c>.
    /// </summary>
    public int RateLimitPerMinute { get; init; }

    /// <summary>Timeouts, data rates, header size and connection caps for every client connection.</summary>
    public ConnectionLimits Connections { get; init; } = new();

    /// <summary>A PEM certificate and key to serve HTTPS with (<c>--tls-cert</c>, <c>--tls-key</c>); null: plain HTTP.</summary>
    public TlsFiles? Tls { get; init; }

    /// <summary>A Jinja chat template file that replaces every model's own template.</summary>
    public string? ChatTemplatePath { get; init; }

    /// <summary>
    /// Whether every route but <c>/health</c> needs an API key (<c>--require-key</c>). Null: required
    /// exactly when <see cref="Host"/> is not a loopback address — see <see cref="KeysRequired"/>.
    /// </summary>
    public bool? RequireKey { get; init; }

    /// <summary>Where <c>keys.db</c> lives (null: <c>$CRIA_HOME</c>, else <c>~/.cria</c>).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>
    /// The audit log (<see cref="Audit.AuditOptions"/>): one hash-chained record per request in SQLite. Null: no
    /// audit log (the library's default; <c>cria serve</c> audits unless <c>--no-audit</c>).
    /// </summary>
    public Audit.AuditOptions? Audit { get; init; }

    /// <summary>Origins allowed by CORS (<c>--cors ORIGIN</c>, repeatable; <c>*</c> for any). Empty: CORS off.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary>Whether keys are enforced: <see cref="RequireKey"/>, or by default whether the host is reachable from other machines.</summary>
    public bool KeysRequired => RequireKey ?? !ListenAddress.IsLoopback(Host);

    /// <summary>Compute threads (0: the processor count).</summary>
    public int Threads { get; init; }

    /// <summary>Tests only: a pause after each generated piece, so a stream lasts long enough to be interrupted.</summary>
    internal TimeSpan PieceDelay { get; init; }

    public static string BundledModelPath => Path.Combine(AppContext.BaseDirectory, "models", DefaultModelFile);

    /// <summary>"NAME=PATH" → (NAME, PATH); a plain path (or one that exists as written, '=' and all) → (null, PATH).</summary>
    public static (string? Name, string Path) SplitModelSpec(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || File.Exists(spec))
        {
            return (null, spec);
        }
        return (spec[..eq], spec[(eq + 1)..]);
    }

    /// <summary>A keep-alive as <c>--keep-alive</c> and Ollama's <c>keep_alive</c> take it ("5m", "1h30m", "300" seconds, "-1" forever); null when malformed.</summary>
    public static TimeSpan? ParseKeepAlive(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        TimeSpan? value = Ollama.OllamaMapping.ParseDuration(text.Trim());
        return value < TimeSpan.Zero ? Timeout.InfiniteTimeSpan : value;
    }

    /// <summary>Names may use letters, digits and <c>. _ - : /</c> (as model ids do), 1–128 characters.</summary>
    public static bool IsValidModelName(string name) =>
        name.Length is > 0 and <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '/');

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"--port must be between 0 and 65535, got {Port}");
        }
        if (ContextLength is < 0 or > 1 << 20)
        {
            throw new ArgumentException($"--ctx must be between 1 and {1 << 20}, got {ContextLength}");
        }
        if (Parallel is < 1 or > 256)
        {
            throw new ArgumentException($"--parallel must be between 1 and 256, got {Parallel}");
        }
        if (MaxQueue < 0)
        {
            throw new ArgumentException($"the queue length must be ≥ 0, got {MaxQueue}");
        }
        if (MaxRequestBodyBytes < 1024)
        {
            throw new ArgumentException($"--max-body must be at least 1024 bytes, got {MaxRequestBodyBytes}");
        }
        if (MaxTokens < 0)
        {
            throw new ArgumentException($"--max-tokens must be ≥ 0 (0: up to the context), got {MaxTokens}");
        }
        if (RateLimitPerMinute < 0)
        {
            throw new ArgumentException($"--rate-limit must be ≥ 0 requests per minute (0: off), got {RateLimitPerMinute}");
        }
        ArgumentNullException.ThrowIfNull(Connections);
        Connections.Validate();
        foreach (string origin in CorsOrigins)
        {
            if (origin != "*" && !(Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/"))
            {
                throw new ArgumentException($"--cors must be an origin such as https://example.com (scheme and host, no path) or *, got \"{origin}\"");
            }
        }
        foreach (string spec in ModelPaths)
        {
            (string? name, string path) = SplitModelSpec(spec);
            if (name is not null && !IsValidModelName(name))
            {
                throw new ArgumentException($"--model {spec}: the name \"{name}\" may use letters, digits and . _ - : / (1–128 characters)");
            }
            if (path.Length == 0)
            {
                throw new ArgumentException($"--model {spec}: the path is empty");
            }
        }
        foreach ((string alias, string target) in Aliases)
        {
            if (!IsValidModelName(alias))
            {
                throw new ArgumentException($"--alias {alias}={target}: the alias may use letters, digits and . _ - : / (1–128 characters)");
            }
        }
        foreach ((string name, string path) in Adapters)
        {
            if (!IsValidModelName(name) || name.Contains('+', StringComparison.Ordinal))
            {
                throw new ArgumentException($"--adapter {name}={path}: the name may use letters, digits and . _ - : / (1–128 characters)");
            }
            if (!File.Exists(path))
            {
                throw new ArgumentException($"--adapter {name}={path}: file not found");
            }
        }
        if (KvBudgetTokens < 0)
        {
            throw new ArgumentException($"--kv-budget must be ≥ 0 (0: --ctx × --parallel), got {KvBudgetTokens}");
        }
        if (!Enum.IsDefined(KvCacheType))
        {
            throw new ArgumentException($"unknown KV cache type {KvCacheType}");
        }
        if (MaxLoadedModels < 0)
        {
            throw new ArgumentException($"--max-loaded must be ≥ 0 (0: no limit), got {MaxLoadedModels}");
        }
        if (MemoryBudgetBytes < 0)
        {
            throw new ArgumentException($"--memory-budget must be ≥ 0 (0: no limit), got {MemoryBudgetBytes}");
        }
        Audit?.Validate();
        if (Threads is < 0 or > 1024)
        {
            throw new ArgumentException($"--threads must be between 1 and 1024, got {Threads}");
        }
    }
}
