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
        var guard = new Option<string?>("--guard") { Description = "guard policy file (JSON): input, output and tool_calls rails with pii, secrets, injection, keywords and regex checks; see `cria guard check`" };
        var cors = new Option<string[]>("--cors") { Description = "allow browser requests from this origin (repeatable; * for any); CORS is off by default", AllowMultipleArgumentsPerToken = false };

        var cmd = new Command("serve", "Serve models over OpenAI's API (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models) and Ollama's (/api/chat, /api/generate, /api/embed, /api/tags, /api/show).")
        {
            models, aliases, host, port, ctx, parallel, chatTemplate, threads, requireKey, cors, keepAlive, maxLoaded, memoryBudget, adapterOption, kvBudget, kvType, logPrompts, guard,
        };
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
            var options = new ServerOptions
            {
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
                Guard = p.GetValue(guard) is { } guardFile ? Guard.Policy.GuardConfig.Load(guardFile) : null,
            };
            WebApplication app = CriaServer.Build(options);
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                string names = string.Join(", ", options.ModelPaths.Count > 0
                    ? options.ModelPaths.Select(spec => ServerOptions.SplitModelSpec(spec) is var (name, path) ? name ?? Path.GetFileNameWithoutExtension(path) : spec)
                    : [Path.GetFileNameWithoutExtension(ServerOptions.DefaultModelFile)]);
                Console.Error.WriteLine($"cria: serving {names} on {string.Join(", ", app.Urls)} (OpenAI: /v1, Ollama: /api); Ctrl-C stops");
            });
            // Ctrl-C (SIGINT) and SIGTERM stop the host: running generations are cancelled and their
            // streams end with a finish reason, then Kestrel closes.
            app.Run();
            return 0;
        }));
        return cmd;
    }
}
