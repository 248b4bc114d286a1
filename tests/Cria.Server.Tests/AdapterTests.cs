using System.Net;

using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Server.Tests;

/// <summary>LoRA adapters per request: model "base+NAME" or "adapter": "NAME"; several hot at once, batched together.</summary>
public sealed class AdapterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-adapters-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteAdapter(string name, bool zeroB)
    {
        using LocalModel model = LocalModel.Load(ServerOptions.BundledModelPath);
        ModelConfig c = model.Model.Config;
        var rng = new Random(name.Length);
        var layers = new LoraMatrix?[c.BlockCount][];
        for (int l = 0; l < c.BlockCount; l++)
        {
            layers[l] = new LoraMatrix?[7];
            foreach (LoraTarget t in new[] { LoraTarget.Q, LoraTarget.V, LoraTarget.Down })
            {
                (int o, int i) = LoraAdapter.Shape(c, t);
                layers[l][(int)t] = new LoraMatrix(2, i, o, [.. Enumerable.Range(0, 2 * i).Select(_ => (float)rng.NextDouble() - 0.5f)],
                    [.. Enumerable.Range(0, o * 2).Select(_ => zeroB ? 0f : (float)rng.NextDouble() - 0.5f)]);
            }
        }
        string path = Path.Combine(_dir, name + ".gguf");
        new LoraAdapter(name, c.Architecture, 4f, layers).Save(path);
        return path;
    }

    private static async Task<string> ChatAsync(RunningServer server, string model, string extra = "")
    {
        using HttpResponseMessage response = await server.PostJsonAsync("v1/chat/completions",
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":24,"temperature":0{{extra}}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await RunningServer.JsonAsync(response)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    [Fact]
    public async Task Requests_pick_adapters_by_name_and_run_batched_with_others()
    {
        var adapters = new Dictionary<string, string> { ["none"] = WriteAdapter("none", zeroB: true), ["strong"] = WriteAdapter("strong", zeroB: false) };
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { Parallel = 3, Adapters = adapters });
        string plain = await ChatAsync(server, "stories260K");
        Assert.Equal(plain, await ChatAsync(server, "stories260K+none"));
        string strong = await ChatAsync(server, "stories260K+strong");
        Assert.NotEqual(plain, strong);
        Assert.Equal(strong, await ChatAsync(server, "stories260K", ",\"adapter\":\"strong\""));

        // Both at once, in one batch: each as alone.
        string[] together = await Task.WhenAll(ChatAsync(server, "stories260K"), ChatAsync(server, "stories260K+strong"), ChatAsync(server, "stories260K+none"));
        Assert.Equal([plain, strong, plain], together);

        using HttpResponseMessage unknown = await server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K+nope","messages":[{"role":"user","content":"x"}],"max_tokens":2}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("adapter_not_found", (await RunningServer.JsonAsync(unknown)).GetProperty("error").GetProperty("code").GetString());

        // Ollama clients name it the same way.
        using HttpResponseMessage ollama = await server.PostJsonAsync("api/generate",
            """{"model":"stories260K+strong","prompt":"Tell me a story","stream":false,"options":{"temperature":0,"num_predict":4}}""");
        Assert.Equal(HttpStatusCode.OK, ollama.StatusCode);
    }

    [Fact]
    public void A_missing_adapter_file_stops_the_server_at_start()
    {
        var options = new ServerOptions { Port = 0, Adapters = new Dictionary<string, string> { ["x"] = Path.Combine(_dir, "missing.gguf") } };
        Assert.Contains("file not found", Assert.Throws<ArgumentException>(() => CriaServer.Build(options)).Message, StringComparison.Ordinal);
    }
}
