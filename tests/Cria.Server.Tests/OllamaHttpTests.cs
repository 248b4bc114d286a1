using System.Net;
using System.Text;
using System.Text.Json;

namespace Cria.Server.Tests;

/// <summary>Ollama's wire format: NDJSON streams, its field names and its error shape.</summary>
public sealed class OllamaHttpTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static List<JsonElement> Lines(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public async Task Chat_streams_ndjson_and_ends_with_done_and_counts()
    {
        using HttpResponseMessage response = await Server.PostStreamingAsync("api/chat",
            """{"model":"stories260K:latest","messages":[{"role":"user","content":"Tell me about a cat."}],"options":{"temperature":0,"num_predict":8}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        List<JsonElement> lines = Lines(await response.Content.ReadAsStringAsync());

        var text = new StringBuilder();
        foreach (JsonElement line in lines[..^1])
        {
            Assert.False(line.GetProperty("done").GetBoolean());
            Assert.Equal("stories260K:latest", line.GetProperty("model").GetString());
            Assert.True(DateTimeOffset.TryParse(line.GetProperty("created_at").GetString(), out _));
            Assert.Equal("assistant", line.GetProperty("message").GetProperty("role").GetString());
            text.Append(line.GetProperty("message").GetProperty("content").GetString());
        }
        Assert.NotEmpty(text.ToString());
        JsonElement done = lines[^1];
        Assert.True(done.GetProperty("done").GetBoolean());
        Assert.Equal("length", done.GetProperty("done_reason").GetString());
        Assert.Equal(8, done.GetProperty("eval_count").GetInt32());
        Assert.True(done.GetProperty("prompt_eval_count").GetInt32() > 5);
        Assert.True(done.GetProperty("total_duration").GetInt64() > 0);
        Assert.True(done.TryGetProperty("eval_duration", out _));
        Assert.True(done.TryGetProperty("prompt_eval_duration", out _));

        using HttpResponseMessage whole = await Server.PostJsonAsync("api/chat",
            """{"model":"stories260K","messages":[{"role":"user","content":"Tell me about a cat."}],"stream":false,"options":{"temperature":0,"num_predict":8}}""");
        JsonElement single = await RunningServer.JsonAsync(whole);
        Assert.True(single.GetProperty("done").GetBoolean());
        Assert.Equal(text.ToString(), single.GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Generate_streams_responses_and_supports_stream_false()
    {
        using HttpResponseMessage response = await Server.PostStreamingAsync("api/generate",
            """{"model":"stories260K","prompt":"Once upon a time","raw":true,"options":{"temperature":0,"num_predict":6,"seed":1}}""");
        List<JsonElement> lines = Lines(await response.Content.ReadAsStringAsync());
        string streamed = string.Concat(lines[..^1].Select(l => l.GetProperty("response").GetString()));
        Assert.True(lines[^1].GetProperty("done").GetBoolean());
        Assert.Equal(6, lines[^1].GetProperty("eval_count").GetInt32());

        using HttpResponseMessage whole = await Server.PostJsonAsync("api/generate",
            """{"model":"stories260K","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,"num_predict":6,"seed":1}}""");
        JsonElement single = await RunningServer.JsonAsync(whole);
        Assert.Equal(streamed, single.GetProperty("response").GetString());
        Assert.Equal("length", single.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task Generate_with_an_empty_prompt_loads_the_model()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("api/generate", """{"model":"stories260K"}""");
        JsonElement root = await RunningServer.JsonAsync(response);
        Assert.True(root.GetProperty("done").GetBoolean());
        Assert.Equal("load", root.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task Errors_use_ollamas_shape()
    {
        using HttpResponseMessage unknown = await Server.PostJsonAsync("api/chat", """{"model":"llama9","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("llama9", (await RunningServer.JsonAsync(unknown)).GetProperty("error").GetString(), StringComparison.Ordinal);

        using HttpResponseMessage nan = await Server.PostJsonAsync("api/generate", """{"model":"stories260K","prompt":"hi","options":{"temperature":-0.5}}""");
        Assert.Equal(HttpStatusCode.BadRequest, nan.StatusCode);
        Assert.Contains("temperature", (await RunningServer.JsonAsync(nan)).GetProperty("error").GetString(), StringComparison.Ordinal);

        using HttpResponseMessage broken = await Server.PostJsonAsync("api/chat", "{\"model\":");
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Equal(JsonValueKind.String, (await RunningServer.JsonAsync(broken)).GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task Tags_show_and_version()
    {
        using HttpResponseMessage tags = await Server.Http.GetAsync("api/tags");
        JsonElement model = (await RunningServer.JsonAsync(tags)).GetProperty("models")[0];
        Assert.Equal("stories260K:latest", model.GetProperty("name").GetString());
        Assert.True(model.GetProperty("size").GetInt64() > 100_000);
        Assert.Equal(64, model.GetProperty("digest").GetString()!.Length);
        JsonElement details = model.GetProperty("details");
        Assert.Equal("gguf", details.GetProperty("format").GetString());
        Assert.Equal("llama", details.GetProperty("family").GetString());
        Assert.Equal("260K", details.GetProperty("parameter_size").GetString());
        Assert.Equal("F32", details.GetProperty("quantization_level").GetString());

        using HttpResponseMessage show = await Server.PostJsonAsync("api/show", """{"model":"stories260K"}""");
        JsonElement info = await RunningServer.JsonAsync(show);
        Assert.Contains("<|im_start|>", info.GetProperty("template").GetString(), StringComparison.Ordinal);
        Assert.Equal("llama", info.GetProperty("model_info").GetProperty("general.architecture").GetString());
        Assert.Equal(512, info.GetProperty("model_info").GetProperty("llama.context_length").GetInt32());

        using HttpResponseMessage missing = await Server.PostJsonAsync("api/show", """{"model":"nope"}""");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using HttpResponseMessage version = await Server.Http.GetAsync("api/version");
        Assert.Matches(@"^\d+\.\d+\.\d+$", (await RunningServer.JsonAsync(version)).GetProperty("version").GetString());
    }

    [Fact]
    public async Task Generate_context_continues_the_exchange_and_logprobs_are_per_token()
    {
        using HttpResponseMessage first = await Server.PostJsonAsync("api/generate",
            """{"model":"stories260K","prompt":"Once upon a time","raw":true,"stream":false,"logprobs":true,"top_logprobs":2,"options":{"temperature":0,"num_predict":5}}""");
        JsonElement one = await RunningServer.JsonAsync(first);
        int[] context = [.. one.GetProperty("context").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal(one.GetProperty("prompt_eval_count").GetInt32() + 5, context.Length);
        JsonElement[] logprobs = [.. one.GetProperty("logprobs").EnumerateArray()];
        Assert.Equal(5, logprobs.Length);
        Assert.All(logprobs, lp => Assert.Equal(2, lp.GetProperty("top_logprobs").GetArrayLength()));
        Assert.Equal(one.GetProperty("response").GetString(), string.Concat(logprobs.Select(lp => lp.GetProperty("token").GetString())));

        // Continuing with the context puts the earlier exchange before the new prompt.
        string contextJson = string.Join(",", context);
        using HttpResponseMessage next = await Server.PostJsonAsync("api/generate",
            $$$"""{"model":"stories260K","prompt":" there","raw":true,"stream":false,"context":[{{{contextJson}}}],"options":{"temperature":0,"num_predict":4}}""");
        JsonElement two = await RunningServer.JsonAsync(next);
        int[] context2 = [.. two.GetProperty("context").EnumerateArray().Select(e => e.GetInt32())];
        Assert.True(two.GetProperty("prompt_eval_count").GetInt32() > context.Length);
        Assert.Equal(two.GetProperty("prompt_eval_count").GetInt32() + 4, context2.Length);
        Assert.Equal(context, context2[..context.Length]);

        using HttpResponseMessage bad = await Server.PostJsonAsync("api/generate", """{"model":"stories260K","prompt":"x","context":[99999999]}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Legacy_embeddings_endpoint_returns_one_vector()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("api/embeddings", """{"model":"stories260K","prompt":"a cat"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement body = await RunningServer.JsonAsync(response);
        Assert.Equal(64, body.GetProperty("embedding").GetArrayLength());

        using HttpResponseMessage embed = await Server.PostJsonAsync("api/embed", """{"model":"stories260K","input":"a cat"}""");
        JsonElement same = (await RunningServer.JsonAsync(embed)).GetProperty("embeddings")[0];
        Assert.Equal(same.EnumerateArray().Select(e => e.GetSingle()), body.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()));
    }
}
