using System.CommandLine;

using Cria.Hosting;
using Cria.Hub.Store;
using Cria.HubServer;

using Microsoft.AspNetCore.Builder;

namespace Cria.Cli;

/// <summary><c>cria hub serve</c>: the local store as a private hub (Hugging Face and registry protocols).</summary>
internal static class HubCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "TCP port (0: any free port)", DefaultValueFactory = _ => 11436 };
        var tokenFile = new Option<string?>("--token-file")
        {
            Description = "file of tokens, one per line: TOKEN (pushes and pulls everywhere) or TOKEN push:NAMESPACE pull:NAMESPACE ... (* for every namespace); '#' starts a comment",
        };
        var pushToken = new Option<string?>("--push-token") { Description = "a push token (prefer --token-file: command lines are visible to other users)" };
        var pullToken = new Option<string?>("--pull-token") { Description = "require this token for pulls too (push tokens also pull); makes every namespace private" };
        var privateNs = new Option<string[]>("--private")
        {
            Description = "a namespace only tokens granted it may read (404 to others); repeatable; * for all",
            AllowMultipleArgumentsPerToken = false,
        };
        var orphanAge = new Option<string>("--orphan-blob-age")
        {
            Description = "delete pushed blobs that no manifest names after this long (an abandoned push): 1h, 30m, 3600 (seconds); at least 1s",
            DefaultValueFactory = _ => "1h",
        };
        var insecure = new Option<bool>("--insecure") { Description = "accept tokens over plain HTTP on an address other machines reach (they cross the network readable); without it such a hub needs --tls-cert and --tls-key" };
        var listen = new ListenOptions();
        var serve = new Command("serve", "Serve the store read-only over Hugging Face's API (/api/models, /{owner}/{repo}/resolve) and the registry API (/v2/); pushes need a token.")
        {
            host, port, tokenFile, pushToken, pullToken, privateNs, orphanAge, insecure,
        };
        listen.AddTo(serve);
        serve.SetAction(p => CliErrors.Run(() =>
        {
            string? file = p.GetValue(tokenFile);
            string? token = p.GetValue(pushToken);
            if (file is not null && token is not null)
            {
                throw new UserException("give --token-file or --push-token, not both");
            }
            IReadOnlyList<HubTokenGrant> grants = file is not null ? HubTokenGrant.ReadFile(file) : [];
            if (file is not null && grants.Count == 0)
            {
                throw new UserException($"token file {file} has no tokens");
            }
            List<string> push = token is not null ? [token] : [];
            string? pull = p.GetValue(pullToken);
            string orphanText = p.GetValue(orphanAge) ?? "1h";
            TimeSpan orphan = Cria.Server.ServerOptions.ParseKeepAlive(orphanText) is { } age && age >= TimeSpan.FromSeconds(1)
                ? age
                : throw new UserException($"--orphan-blob-age must be a duration of at least 1s such as 1h or 30m, got \"{orphanText}\"");
            ModelStore store = ModelStore.OpenDefault();
            var options = new HubServerOptions
            {
                Home = store.Home,
                Host = p.GetValue(host) ?? "127.0.0.1",
                Port = p.GetValue(port),
                PushTokens = push,
                PullTokens = pull is null ? [] : [pull],
                Grants = grants,
                PrivateNamespaces = p.GetValue(privateNs) ?? [],
                OrphanBlobAge = orphan,
                Insecure = p.GetValue(insecure),
                Connections = listen.Limits(p),
                Tls = listen.Tls(p),
            };
            WebApplication app = CriaHub.Build(options);
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                string mode = push.Count > 0 || grants.Any(g => g.Push.Count > 0) ? "pushes with a token" : "read-only";
                Console.Error.WriteLine($"cria: hub serving {store.ModelsDirectory} ({mode}) on {string.Join(", ", app.Urls)}; Ctrl-C stops");
                if (!ListenAddress.IsLoopback(options.Host) && options.Tls is null && options.AllGrants().Any())
                {
                    Console.Error.WriteLine("cria: warning: --insecure: tokens cross the network readable over plain HTTP");
                }
                if (!ListenAddress.IsLoopback(options.Host) && options.EffectivePrivateNamespaces().Count == 0)
                {
                    Console.Error.WriteLine("cria: warning: the hub listens beyond this machine and anyone who reaches it can pull; use --pull-token or --private to require a token");
                }
            });
            app.Run();
            return 0;
        }));
        return new Command("hub", "A private model hub for a team.") { serve };
    }
}
