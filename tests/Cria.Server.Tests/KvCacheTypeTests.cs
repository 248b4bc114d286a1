using System.Net;

using Cria.Core.Models;
using Cria.Core.Synthetic;
using Cria.Core.Tests;
using Cria.Server.Engine;

namespace Cria.Server.Tests;

/// <summary>
/// <c>cria serve --kv-type</c>: a Q8_0 cache serves concurrent generations with the text each gets
/// alone, and a model whose heads are not whole Q8_0 blocks is refused at start with its head size named.
/// </summary>
public sealed class KvCacheTypeTests
{
    private static string Body(string prompt) => $$"""{"model":"tiny-h32","prompt":"{{prompt}}","max_tokens":24,"temperature":0}""";

    private static async Task<string> CompleteAsync(RunningServer server, string prompt)
    {
        using HttpResponseMessage response = await server.PostJsonAsync("v1/completions", Body(prompt));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await RunningServer.JsonAsync(response)).GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    [Fact]
    public async Task A_q8_0_cache_serves_concurrent_generations_as_alone()
    {
        string dir = Directory.CreateTempSubdirectory("cria-serve-kv-").FullName;
        try
        {
            string path = Path.Combine(dir, "tiny-h32.gguf");
            SyntheticModel.Write("tiny-h32", "q8_0", 5, path, TestData.Path("llama.cpp/vocab/ggml-vocab-llama-spm.gguf"));
            string[] prompts = ["Once upon a time", "The cat sat on the mat and", "In a small town there lived"];
            var options = new ServerOptions { ModelPaths = [path], KvCacheType = KvCacheType.Q8_0, ContextLength = 128 };
            var alone = new List<string>();
            await using (RunningServer single = await RunningServer.StartAsync(options with { Parallel = 1 }))
            {
                foreach (string p in prompts)
                {
                    alone.Add(await CompleteAsync(single, p));
                }
            }
            await using RunningServer server = await RunningServer.StartAsync(options with { Parallel = 3 });
            string[] together = await Task.WhenAll(prompts.Select(p => CompleteAsync(server, p)));
            Assert.Equal(alone, together);
            ServedModel model = Assert.Single(server.Registry.Loaded());
            Assert.Equal(KvCacheType.Q8_0, model.KvPool.CacheType);
            Assert.Equal(128L * 3 * model.KvPool.RowBytes * 2 * 2, model.KvPool.Bytes); // --ctx × --parallel positions, 2 layers, keys and values
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_q8_0_cache_for_a_model_with_heads_of_8_is_refused_at_start_naming_the_head_size()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => RunningServer.StartAsync(new ServerOptions { KvCacheType = KvCacheType.Q8_0 }));
        Assert.Contains("stories260K", e.Message, StringComparison.Ordinal);
        Assert.Contains("head size is 8", e.Message, StringComparison.Ordinal);
    }
}
