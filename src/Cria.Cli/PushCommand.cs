using System.CommandLine;

using Cria.Hub;
using Cria.Hub.Remote;
using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary><c>cria push NAME [--to HOST:PORT]</c>: upload a stored model to a registry (a <c>cria hub serve</c> with a push token).</summary>
internal static class PushCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "the stored model to push; its host is the registry unless --to is given" };
        var to = new Option<string?>("--to") { Description = "registry HOST[:PORT] to push to, keeping the model's namespace, name and tag" };
        var token = new Option<string?>("--token") { Description = "the hub's push token (default: $CRIA_HUB_TOKEN)" };
        var insecure = new Option<bool>("--insecure") { Description = "allow plain http to any host (loopback hosts use http anyway)" };
        var cmd = new Command("push", "Upload a model to a registry over the Docker/Ollama registry protocol.") { name, to, token, insecure };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            ModelName local = ModelName.Parse(p.GetValue(name)!);
            ModelName remote = p.GetValue(to) is string host
                ? ModelName.Parse($"{host.TrimEnd('/')}/{local.Namespace}/{local.Model}:{local.Tag}")
                : local;
            if (string.Equals(remote.Host, ModelName.DefaultHost, StringComparison.OrdinalIgnoreCase))
            {
                throw new UserException($"pushing to {ModelName.DefaultHost} is not supported; push to your hub with --to HOST:PORT");
            }
            var options = new PullOptions { Insecure = p.GetValue(insecure), RegistryToken = PullCommand.HubToken(p.GetValue(token)) };
            var pusher = new ModelPusher(ModelStore.OpenDefault(), options);
            long uploaded = PullCommand.WithCancel(cancel => TransferProgress.RunAsync(progress => pusher.PushAsync(local, remote, progress, cancel)));
            Console.WriteLine($"pushed '{local.DisplayShortest()}' to {remote.DisplayShortest()} ({CliFormat.Size(uploaded)} uploaded)");
            return 0;
        }));
        return cmd;
    }
}
