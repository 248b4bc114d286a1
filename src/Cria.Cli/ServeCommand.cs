using System.CommandLine;

using Cria.Server;

using Microsoft.AspNetCore.Builder;

namespace Cria.Cli;

/// <summary><c>cria serve</c>: an OpenAI- and Ollama-compatible HTTP server for local models.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var models = new Option<string[]>("--model", "-m") { Description = "GGUF model file or store name to serve (repeatable; a request's \"model\" is the file name without extension; default: the bundled stories260K model)", AllowMultipleArgumentsPerToken = false };
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "TCP port", DefaultValueFactory = _ => 11435 };
        var ctx = CommonOptions.Context("context length of each sequence slot in tokens (default: the model's, at most 4096)");
        var parallel = new Option<int>("--parallel", "-np") { Description = "generations that run at the same time; more requests wait", DefaultValueFactory = _ => 1 };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "Jinja chat template file that replaces the models' own templates" };
        var threads = CommonOptions.Threads();
        var requireKey = new Option<bool?>("--require-key") { Description = "require an API key (cria keys create) on every route but /health; default: on when --host is not a loopback address" };
        var cors = new Option<string[]>("--cors") { Description = "allow browser requests from this origin (repeatable; * for any); CORS is off by default", AllowMultipleArgumentsPerToken = false };

        var cmd = new Command("serve", "Serve models over OpenAI's API (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models) and Ollama's (/api/chat, /api/generate, /api/embed, /api/tags, /api/show).")
        {
            models, host, port, ctx, parallel, chatTemplate, threads, requireKey, cors,
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
            // Store names become their weights' blob paths; the server names a model by its file name, so a
            // stored model is requested as "sha256-…" until the server learns store names.
            List<Hub.Store.ResolvedModel> resolved = [.. (p.GetValue(models) ?? []).Select(m => ModelPaths.ResolveModel(m))];
            var options = new ServerOptions
            {
                ModelPaths = [.. resolved.Select(r => r.ModelPath)],
                Host = p.GetValue(host) ?? "127.0.0.1",
                Port = p.GetValue(port),
                ContextLength = p.GetValue(ctx),
                Parallel = p.GetValue(parallel),
                ChatTemplatePath = template,
                Threads = threadCount,
                RequireKey = p.GetValue(requireKey),
                CorsOrigins = p.GetValue(cors) ?? [],
            };
            WebApplication app = CriaServer.Build(options);
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                string names = string.Join(", ", resolved.Count > 0
                    ? resolved.Select(r => r.Name is null ? Path.GetFileNameWithoutExtension(r.ModelPath) : $"{r.DisplayName} as \"{Path.GetFileNameWithoutExtension(r.ModelPath)}\"")
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
