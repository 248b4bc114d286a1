using System.CommandLine;

using Cria.Server;

using Microsoft.AspNetCore.Builder;

namespace Cria.Cli;

/// <summary><c>cria serve</c>: an OpenAI- and Ollama-compatible HTTP server for local models.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var models = new Option<string[]>("--model", "-m") { Description = "GGUF model file or store name to serve, as MODEL or NAME=MODEL (repeatable; a request\'s \"model\" is NAME, by default the store name or the file name without extension; default: the bundled stories260K model)", AllowMultipleArgumentsPerToken = false };
        var aliases = new Option<string[]>("--alias") { Description = "another name for a served model, as ALIAS=NAME (repeatable), e.g. --alias gpt-4o-mini=stories260K", AllowMultipleArgumentsPerToken = false };
        var keepAlive = new Option<string>("--keep-alive") { Description = "how long a model stays loaded after its last request: 5m, 1h30m, 300 (seconds), 0 (unload at once) or -1 (forever)", DefaultValueFactory = _ => "5m" };
        var maxLoaded = new Option<int>("--max-loaded") { Description = "most models in memory at once; loading another unloads the least recently used idle one (0: no limit)", DefaultValueFactory = _ => 3 };
        var memoryBudget = new Option<string?>("--memory-budget") { Description = "memory the loaded models (files plus KV caches) may take together, e.g. 8G or 512M; idle models are unloaded to make room (default: no limit)" };
        var adapterOption = new Option<string[]>("--adapter") { Description = "a LoRA adapter requests may use, as NAME=FILE (repeatable); a request picks it with model \"BASE+NAME\" or \"adapter\": \"NAME\"", AllowMultipleArgumentsPerToken = false };
        var kvBudget = new Option<int>("--kv-budget") { Description = "positions the paged KV cache holds for all sequences of a model (default: --ctx × --parallel); sequences beyond it wait or are preempted and recomputed", DefaultValueFactory = _ => 0 };
        var kvType = CommonOptions.KvType("; the memory of --kv-budget positions scales with it (q8_0 about halves it)");
        var logPrompts = new Option<bool>("--log-prompts") { Description = "include prompts and generated text in the per-request log line (off by default: they are your users' data)" };
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "TCP port", DefaultValueFactory = _ => 11435 };
        var ctx = CommonOptions.Context("context length of each sequence slot in tokens (default: the model's, at most 4096)");
        var parallel = new Option<int>("--parallel", "-np") { Description = "generations that run at the same time; more requests wait", DefaultValueFactory = _ => 1 };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "Jinja chat template file that replaces the models' own templates" };
        var threads = CommonOptions.Threads();
        var requireKey = new Option<bool?>("--require-key") { Description = "require an API key (cria keys create) on every route but /health; default: on when --host is not a loopback address" };
        var maxBody = new Option<string>("--max-body") { Description = "largest request body accepted, chunked or not (413 above it): 1M, 4M", DefaultValueFactory = _ => "1M" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "most tokens one request may generate: larger max_tokens/num_predict are clamped to it (finish reason \"length\"), and it is the default for requests that give none (0: up to the context)", DefaultValueFactory = _ => 0 };
        var rateLimit = new Option<string?>("--rate-limit") { Description = "requests per minute each caller may send, as N/min (or N/s): per API key (a key's own --rpm takes its place) or, without keys, per client IP; one more gets 429 with Retry-After (default: off)" };
        var listen = new ListenOptions();
        var noAudit = new Option<bool>("--no-audit") { Description = "do not write the audit log (by default every request gets a hash-chained record in $CRIA_HOME/audit.db; see `cria audit`)" };
        var auditFile = new Option<string?>("--audit") { Description = "the audit log file (default: $CRIA_HOME/audit.db); its signing key is $CRIA_HOME/audit.key" };
        var auditText = new Option<bool>("--audit-text") { Description = "keep prompts and outputs as text in the audit log (default: only their SHA-256; they are your users' data)" };
        var auditRetention = new Option<string?>("--audit-retention") { Description = "prune audit records older than this (30d, 12h, 2w) behind a signed checkpoint, at start and hourly (default: keep all)" };
        var guard = new Option<string?>("--guard") { Description = "guard policy file (JSON): input, output and tool_calls rails with pii, secrets, injection, keywords and regex checks; see `cria guard check`" };
        var cors = new Option<string[]>("--cors") { Description = "allow browser requests from this origin (repeatable; * for any); CORS is off by default", AllowMultipleArgumentsPerToken = false };

        var cmd = new Command("serve", "Serve models over OpenAI's API (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models) and Ollama's (/api/chat, /api/generate, /api/embed, /api/tags, /api/show).")
        {
            models, aliases, host, port, ctx, parallel, chatTemplate, threads, requireKey, cors, keepAlive, maxLoaded, memoryBudget, adapterOption, kvBudget, kvType, logPrompts,
            maxBody, maxTokens, rateLimit,
            noAudit, auditFile, auditText, auditRetention, guard,
        };
        listen.AddTo(cmd);
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string? template = p.GetValue(chatTemplate);
            if (template is not null && !File.Exists(template))
            {
                throw new UserException($"chat template file not found: {template}");
            }
            int threadCount = p.GetValue(threads);
            if (threadCount < 1 || threadCount > 1024)
            {
                throw new UserException($"--threads must be between 1 and 1024, got {threadCount}");
            }
            string keepAliveText = p.GetValue(keepAlive) ?? "5m";
            TimeSpan keepAliveValue = ServerOptions.ParseKeepAlive(keepAliveText)
                ?? throw new UserException($"--keep-alive must be a duration such as 5m, 1h30m, 300 (seconds), 0 or -1, got \"{keepAliveText}\"");
            var aliasMap = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string alias in p.GetValue(aliases) ?? [])
            {
                int eq = alias.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == alias.Length - 1)
                {
                    throw new UserException($"--alias must be ALIAS=NAME, got \"{alias}\"");
                }
                if (!aliasMap.TryAdd(alias[..eq], alias[(eq + 1)..]))
                {
                    throw new UserException($"--alias {alias[..eq]} is given twice");
                }
            }
            string? budgetText = p.GetValue(memoryBudget);
            long budget = budgetText is null ? 0 : CommonOptions.ParseSize(budgetText, "--memory-budget");
            // A store name is served under that name (NAME=MODEL names it otherwise), a file under its file name.
            var specs = new List<string>();
            var adapterFiles = new Dictionary<string, string>(StringComparer.Ordinal);
            var modelAdapters = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (string spec in p.GetValue(adapterOption) ?? [])
            {
                int eq = spec.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == spec.Length - 1)
                {
                    throw new UserException($"--adapter must be NAME=FILE, got \"{spec}\"");
                }
                if (!adapterFiles.TryAdd(spec[..eq], spec[(eq + 1)..]))
                {
                    throw new UserException($"--adapter {spec[..eq]} is given twice");
                }
            }
            foreach (string spec in p.GetValue(models) ?? [])
            {
                (string? name, string target) = ServerOptions.SplitModelSpec(spec);
                Hub.Store.ResolvedModel resolved = ModelPaths.ResolveModel(target);
                string? served = name ?? resolved.Name?.DisplayShortest();
                specs.Add(served is null ? resolved.ModelPath : $"{served}={resolved.ModelPath}");
                if (resolved.AdapterPaths.Count > 0)
                {
                    // A stored model's ADAPTER layers are applied to every request for it.
                    string modelName = served ?? Path.GetFileNameWithoutExtension(resolved.ModelPath);
                    var own = new List<string>();
                    for (int i = 0; i < resolved.AdapterPaths.Count; i++)
                    {
                        string adapterName = $"{modelName}.adapter{i}";
                        adapterFiles[adapterName] = resolved.AdapterPaths[i];
                        own.Add(adapterName);
                    }
                    modelAdapters[modelName] = own;
                }
            }
            Server.Audit.AuditOptions? audit = null;
            if (!p.GetValue(noAudit))
            {
                string? retentionText = p.GetValue(auditRetention);
                TimeSpan? retention = retentionText is null ? null
                    : Server.Audit.AuditOptions.ParseDuration(retentionText) ?? throw new UserException($"--audit-retention must be a duration such as 30d, 12h or 2w, got \"{retentionText}\"");
                audit = Server.Audit.AuditOptions.Under(Server.Auth.KeyStore.DefaultDataDirectory(), p.GetValue(auditFile)) with
                {
                    IncludeText = p.GetValue(auditText),
                    Retention = retention,
                };
            }
            else if (p.GetValue(auditFile) is not null || p.GetValue(auditText) || p.GetValue(auditRetention) is not null)
            {
                throw new UserException("--no-audit cannot be combined with --audit, --audit-text or --audit-retention");
            }
            var options = new ServerOptions
            {
                Audit = audit,
                Aliases = aliasMap,
                Adapters = adapterFiles,
                KvBudgetTokens = p.GetValue(kvBudget),
                KvCacheType = CommonOptions.ParseKvType(p.GetValue(kvType)),
                ModelAdapters = modelAdapters,
                KeepAlive = keepAliveValue,
                MaxLoadedModels = p.GetValue(maxLoaded),
                MemoryBudgetBytes = budget,
                LogPrompts = p.GetValue(logPrompts),
                ModelPaths = specs,
                Host = p.GetValue(host) ?? "127.0.0.1",
                Port = p.GetValue(port),
                ContextLength = p.GetValue(ctx),
                Parallel = p.GetValue(parallel),
                ChatTemplatePath = template,
                Threads = threadCount,
                RequireKey = p.GetValue(requireKey),
                CorsOrigins = p.GetValue(cors) ?? [],
                MaxRequestBodyBytes = CommonOptions.ParseSize(p.GetValue(maxBody) ?? "1M", "--max-body"),
                MaxTokens = p.GetValue(maxTokens),
                RateLimitPerMinute = ParseRate(p.GetValue(rateLimit)),
                Connections = listen.Limits(p),
                Tls = listen.Tls(p),
                Guard = p.GetValue(guard) is { } guardFile ? Guard.Policy.GuardConfig.Load(guardFile) : null,
            };
            using WebApplication app = CriaServer.Build(options); // disposed after Run: the audit log is closed (its WAL folded in)
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                string names = string.Join(", ", options.ModelPaths.Count > 0
                    ? options.ModelPaths.Select(spec => ServerOptions.SplitModelSpec(spec) is var (name, path) ? name ?? Path.GetFileNameWithoutExtension(path) : spec)
                    : [Path.GetFileNameWithoutExtension(ServerOptions.DefaultModelFile)]);
                Console.Error.WriteLine($"cria: serving {names} on {string.Join(", ", app.Urls)} (OpenAI: /v1, Ollama: /api); Ctrl-C stops");
                foreach (string warning in Warnings(options))
                {
                    Console.Error.WriteLine($"cria: warning: {warning}");
                }
                Console.Error.WriteLine(options.Audit is { } a ? $"cria: audit log {a.DatabasePath} (cria audit list|verify; --no-audit turns it off)" : "cria: audit log off (--no-audit)");
            });
            // Ctrl-C (SIGINT) and SIGTERM stop the host: running generations are cancelled and their
            // streams end with a finish reason, then Kestrel closes.
            app.Run();
            return 0;
        }));
        return cmd;
    }

    /// <summary>What an operator should know about an exposed server: no keys, or keys over plain HTTP, beyond this machine.</summary>
    internal static IEnumerable<string> Warnings(ServerOptions options)
    {
        if (Hosting.ListenAddress.IsLoopback(options.Host))
        {
            yield break;
        }
        if (!options.KeysRequired)
        {
            yield return $"listening on {options.Host} without API keys: anyone who reaches this address can use every model (drop --require-key false, and create keys with `cria keys create`)";
        }
        else if (options.Tls is null)
        {
            yield return $"listening on {options.Host} over plain HTTP: API keys cross the network readable; give --tls-cert and --tls-key or put a TLS proxy in front";
        }
    }

    /// <summary>"N/min", "N/m", "N/s" or a bare N (per minute) → requests per minute; null → 0 (off).</summary>
    internal static int ParseRate(string? text)
    {
        if (text is null)
        {
            return 0;
        }
        string t = text.Trim();
        int slash = t.IndexOf('/', StringComparison.Ordinal);
        string number = slash < 0 ? t : t[..slash];
        string unit = slash < 0 ? "min" : t[(slash + 1)..].Trim().ToLowerInvariant();
        int perUnit = unit switch { "min" or "m" or "minute" => 1, "s" or "sec" or "second" => 60, _ => 0 };
        if (perUnit == 0 || !int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
            || n < 1 || n > 1_000_000_000 / perUnit)
        {
            throw new UserException($"--rate-limit must be a number of requests such as 60/min or 5/s, got \"{text}\"");
        }
        return n * perUnit;
    }
}
