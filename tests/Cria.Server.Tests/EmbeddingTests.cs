using System.ClientModel;
using System.Net;
using System.Text.Json;

using OpenAI;
using OpenAI.Embeddings;

namespace Cria.Server.Tests;

/// <summary>
/// <c>/v1/embeddings</c> through the official OpenAI SDK (which asks for base64) and as raw JSON floats,
/// and Ollama's <c>/api/embed</c> as raw HTTP: unit-length vectors of the model's width, one per input.
/// </summary>
public sealed class EmbeddingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Model = "stories260K";
    private const int Width = 64; // stories260K's embedding width

    private RunningServer Server => fixture.Server;

    private EmbeddingClient Client => new(Model, new ApiKeyCredential("not-needed"),
        new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    private static double Length(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (float x in v)
        {
            sum += (double)x * x;
        }
        return Math.Sqrt(sum);
    }

    [Fact]
    public async Task Sdk_embeds_one_text_and_a_batch()
    {
        OpenAIEmbedding one = (await Client.GenerateEmbeddingAsync("Once upon a time there was a cat.")).Value;
        ReadOnlyMemory<float> vector = one.ToFloats();
        Assert.Equal(Width, vector.Length);
        Assert.Equal(1.0, Length(vector.Span), 1e-4);

        OpenAIEmbeddingCollection batch = (await Client.GenerateEmbeddingsAsync(["Once upon a time there was a cat.", "The sun was hot."])).Value;
        Assert.Equal(2, batch.Count);
        Assert.Equal(0, batch[0].Index);
        Assert.Equal(1, batch[1].Index);
        Assert.Equal(vector.ToArray(), batch[0].ToFloats().ToArray());
        Assert.NotEqual(batch[0].ToFloats().ToArray(), batch[1].ToFloats().ToArray());
        Assert.Equal(Model, batch.Model);
        Assert.True(batch.Usage.InputTokenCount > 4);
        Assert.Equal(batch.Usage.InputTokenCount, batch.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Raw_float_response_has_openai_shape_and_token_inputs_work()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/embeddings",
            """{"model":"stories260K","input":[[1,200,300],"hello"],"encoding_format":"float"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement json = await RunningServer.JsonAsync(response);
        Assert.Equal("list", json.GetProperty("object").GetString());
        Assert.Equal(Model, json.GetProperty("model").GetString());
        JsonElement data = json.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.Equal("embedding", data[0].GetProperty("object").GetString());
        Assert.Equal(1, data[1].GetProperty("index").GetInt32());
        float[] first = [.. data[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle())];
        Assert.Equal(Width, first.Length);
        Assert.Equal(1.0, Length(first), 1e-4);
        JsonElement usage = json.GetProperty("usage");
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() >= 4);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"model":"stories260K"}""", "input")]
    [InlineData("""{"model":"stories260K","input":[]}""", "input")]
    [InlineData("""{"model":"stories260K","input":""}""", "input")]
    [InlineData("""{"model":"stories260K","input":[1,99999]}""", "input")]
    [InlineData("""{"model":"stories260K","input":"hi","encoding_format":"int8"}""", "encoding_format")]
    [InlineData("""{"model":"stories260K","input":"hi","dimensions":12}""", "dimensions")]
    public async Task Bad_embedding_requests_are_400(string body, string param)
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/embeddings", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement error = (await RunningServer.JsonAsync(response)).GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Input_longer_than_the_context_is_400_with_both_numbers()
    {
        string tokens = string.Join(',', Enumerable.Repeat(300, 600));
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/embeddings", $$"""{"model":"stories260K","input":[{{tokens}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement error = (await RunningServer.JsonAsync(response)).GetProperty("error");
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains("600", message, StringComparison.Ordinal);
        Assert.Contains("512", message, StringComparison.Ordinal);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Ollama_embed_returns_one_vector_per_input()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("api/embed", """{"model":"stories260K:latest","input":["a cat","a dog","a tree"]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement json = await RunningServer.JsonAsync(response);
        Assert.Equal("stories260K:latest", json.GetProperty("model").GetString());
        JsonElement embeddings = json.GetProperty("embeddings");
        Assert.Equal(3, embeddings.GetArrayLength());
        float[] v = [.. embeddings[0].EnumerateArray().Select(e => e.GetSingle())];
        Assert.Equal(Width, v.Length);
        Assert.Equal(1.0, Length(v), 1e-4);
        Assert.True(json.GetProperty("prompt_eval_count").GetInt32() >= 3);

        using HttpResponseMessage single = await Server.PostJsonAsync("api/embed", """{"model":"stories260K","input":"a cat"}""");
        JsonElement one = (await RunningServer.JsonAsync(single)).GetProperty("embeddings");
        Assert.Equal(1, one.GetArrayLength());
        float[] again = [.. one[0].EnumerateArray().Select(e => e.GetSingle())];
        Assert.Equal(v, again);

        using HttpResponseMessage missing = await Server.PostJsonAsync("api/embed", """{"model":"stories260K"}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.True((await RunningServer.JsonAsync(missing)).TryGetProperty("error", out _));
    }
}
