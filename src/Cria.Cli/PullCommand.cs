using System.CommandLine;

using Cria.Hub.Remote;
using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary><c>cria pull NAME</c>: a model from Hugging Face (<c>hf.co/OWNER/REPO[:QUANT]</c>) or an Ollama-compatible registry.</summary>
internal static class PullCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "hf.co/OWNER/REPO[:QUANT], hf.co/OWNER/REPO/FILE.gguf, or [HOST[:PORT]/][NAMESPACE/]MODEL[:TAG] (default registry.ollama.ai/library/MODEL:latest)" };
        var insecure = new Option<bool>("--insecure") { Description = "allow plain http to any host (loopback hosts use http anyway)" };
        var endpoint = new Option<string?>("--hf-endpoint") { Description = "Hugging Face endpoint (default: $HF_ENDPOINT, else https://huggingface.co); a token comes from $HF_TOKEN" };
        var token = new Option<string?>("--token") { Description = "bearer token for a private registry or Cria hub (default: $CRIA_HUB_TOKEN)" };
        var cmd = new Command("pull", "Download a model into the store: resumable, verified by SHA-256, GGUF-checked before it is listed.")
        {
            name, insecure, endpoint, token,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string reference = p.GetValue(name)!;
            // $CRIA_HUB_TOKEN is for your own hub: it is never sent to registry.ollama.ai (only an explicit --token is).
            bool ownRegistry = !HuggingFaceReference.IsHuggingFace(reference)
                && Hub.ModelName.TryParse(reference, out Hub.ModelName? parsed)
                && !string.Equals(parsed.Host, Hub.ModelName.DefaultHost, StringComparison.OrdinalIgnoreCase);
            string? registryToken = ownRegistry ? HubToken(p.GetValue(token)) : p.GetValue(token);
            PullOptions options = new PullOptions { Insecure = p.GetValue(insecure), RegistryToken = registryToken }.WithEnvironment();
            if (p.GetValue(endpoint) is string e)
            {
                options = options with { HuggingFaceEndpoint = e };
            }
            ModelStore store = ModelStore.OpenDefault();
            var puller = new ModelPuller(store, options);
            PullResult result = WithCancel(cancel => TransferProgress.RunAsync(progress => puller.PullAsync(reference, progress, cancel)));
            foreach (string w in result.Warnings)
            {
                Console.Error.WriteLine($"cria: warning: {w}");
            }
            string revision = result.Revision is null ? "" : $" at {result.Revision[..Math.Min(12, result.Revision.Length)]}";
            Console.WriteLine($"pulled '{result.Stored.Name.DisplayShortest()}' ({result.Stored.Digest.ShortId}, {CliFormat.Size(result.Stored.Manifest.TotalSize)}){revision}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>The <c>--token</c> value, else <c>$CRIA_HUB_TOKEN</c>.</summary>
    public static string? HubToken(string? given) =>
        !string.IsNullOrEmpty(given) ? given
        : Environment.GetEnvironmentVariable("CRIA_HUB_TOKEN") is { Length: > 0 } env ? env.Trim() : null;

    /// <summary>Runs an async transfer to its end, cancelled by Ctrl-C (the partial file stays for the next try).</summary>
    public static T WithCancel<T>(Func<CancellationToken, Task<T>> work)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return work(cancel.Token).GetAwaiter().GetResult();
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
