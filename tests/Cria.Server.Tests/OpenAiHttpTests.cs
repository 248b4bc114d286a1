using System.Net;
using System.Text;
using System.Text.Json;

namespace Cria.Server.Tests;

/// <summary>OpenAI's wire format checked byte by byte with raw HTTP: errors, limits and the SSE stream.</summary>
public sealed class OpenAiHttpTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static string Chat(string extra = "", string content = "Tell me about a dog.") =>
        $$"""{"model":"stories260K","messages":[{"role":"user","content":{{JsonSerializer.Serialize(content)}}}],"temperature":0{{extra}}}""";

    private static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type, string? param = null)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        JsonElement root = await RunningServer.JsonAsync(response);
        JsonElement error = root.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.True(error.TryGetProperty("param", out JsonElement p));
        Assert.True(error.TryGetProperty("code", out _));
        if (param is not null)
        {
            Assert.Equal(param, p.GetString());
        }
        return error;
    }

    [Theory]
    [InlineData("{\"model\":\"stories260K\",\"messages\":[", null)]
    [InlineData("not json at all", null)]
    [InlineData("", null)]
    [InlineData("[1,2,3]", null)]
    [InlineData("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":NaN}", null)]
    [InlineData("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}", "temperature")]
    [InlineData("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1.5}", "max_tokens")]
    [InlineData("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1e30}", "max_tokens")]
    [InlineData("{\"model\":\"stories260K\",\"messages\":\"hi\"}", "messages")]
    [InlineData("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[1,2]}", "stop")]
    public async Task Malformed_json_and_wrong_types_are_400(string body, string? param)
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/chat/completions", body);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", param);
    }

    [Theory]
    [InlineData(",\"temperature\":-1", "temperature")]
    [InlineData(",\"temperature\":1e308,\"top_p\":0.5,\"x\":1e999", "temperature")]
    [InlineData(",\"top_p\":1.5", "top_p")]
    [InlineData(",\"max_tokens\":-5", "max_tokens")]
    [InlineData(",\"max_completion_tokens\":0", "max_completion_tokens")]
    [InlineData(",\"presence_penalty\":3", "presence_penalty")]
    [InlineData(",\"frequency_penalty\":-2.5", "frequency_penalty")]
    [InlineData(",\"n\":2", "n")]
    [InlineData(",\"logprobs\":true,\"top_logprobs\":21", "top_logprobs")]
    [InlineData(",\"logit_bias\":{\"abc\":1}", "logit_bias")]
    [InlineData(",\"stop\":[\"\"]", "stop")]
    public async Task Out_of_range_parameters_are_400_naming_the_field(string extra, string param)
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/chat/completions", Chat(extra));
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", param);
    }

    [Fact]
    public async Task Bad_roles_and_missing_content_are_400()
    {
        using HttpResponseMessage role = await Server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K","messages":[{"role":"wizard","content":"hi"}]}""");
        await AssertErrorAsync(role, HttpStatusCode.BadRequest, "invalid_request_error", "messages[0].role");
        using HttpResponseMessage content = await Server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K","messages":[{"role":"user"}]}""");
        await AssertErrorAsync(content, HttpStatusCode.BadRequest, "invalid_request_error", "messages[0].content");
    }

    [Fact]
    public async Task Unknown_model_is_404_model_not_found()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/chat/completions",
            """{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}""");
        JsonElement error = await AssertErrorAsync(response, HttpStatusCode.NotFound, "invalid_request_error", "model");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Contains("gpt-5", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        using HttpResponseMessage get = await Server.Http.GetAsync("v1/models/gpt-5");
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "invalid_request_error", "model");
    }

    [Fact]
    public async Task Prompt_longer_than_the_context_is_400_with_both_numbers()
    {
        string longText = string.Concat(Enumerable.Repeat("The little dog ran to the park and played with a red ball. ", 60));
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/chat/completions", Chat(content: longText));
        JsonElement error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "messages");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        string message = error.GetProperty("message").GetString()!;
        Assert.Matches(@"the prompt is \d{3,} tokens but the context holds 512", message);
    }

    [Fact]
    public async Task Prompt_plus_max_tokens_beyond_the_context_is_400_with_both_numbers()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/chat/completions", Chat(",\"max_tokens\":5000"));
        JsonElement error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "max_tokens");
        string message = error.GetProperty("message").GetString()!;
        Assert.Matches(@"the prompt is \d+ tokens and max_tokens is 5000: \d+ tokens exceed the context of 512", message);
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        // A raw socket announces a 2 MiB body but sends only its start: the server must refuse it
        // from the Content-Length alone. (Sending all of it races the server closing the
        // connection after its early 413, and the client then sees a broken pipe instead.)
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(Server.BaseAddress.Host, Server.BaseAddress.Port);
        using System.Net.Sockets.NetworkStream stream = tcp.GetStream();
        stream.ReadTimeout = 30_000;
        string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + $"Content-Length: {2 << 20}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head + "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 1000)));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string status = (await reader.ReadLineAsync())!;
        Assert.StartsWith("HTTP/1.1 413", status, StringComparison.Ordinal);
        string rest = await reader.ReadToEndAsync();
        // The body may be chunked: take the JSON object itself.
        string json = rest[rest.IndexOf('{', StringComparison.Ordinal)..(rest.LastIndexOf('}') + 1)];
        JsonElement error = JsonDocument.Parse(json).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("1048576", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sse_stream_has_openai_chunk_shapes_usage_and_done()
    {
        using HttpResponseMessage response = await Server.PostStreamingAsync("v1/chat/completions",
            Chat(",\"max_tokens\":10,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();

        string[] events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", events[^1]);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();

        string id = chunks[0].GetProperty("id").GetString()!;
        Assert.StartsWith("chatcmpl-", id, StringComparison.Ordinal);
        foreach (JsonElement c in chunks)
        {
            Assert.Equal(id, c.GetProperty("id").GetString());
            Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString());
            Assert.Equal("stories260K", c.GetProperty("model").GetString());
            Assert.True(c.GetProperty("created").GetInt64() > 1_700_000_000);
        }
        JsonElement first = chunks[0].GetProperty("choices")[0];
        Assert.Equal(0, first.GetProperty("index").GetInt32());
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);

        JsonElement last = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("length", last.GetProperty("finish_reason").GetString());
        Assert.Empty(last.GetProperty("delta").EnumerateObject());

        JsonElement usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        JsonElement usage = usageChunk.GetProperty("usage");
        Assert.Equal(10, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + 10, usage.GetProperty("total_tokens").GetInt32());

        var text = new StringBuilder();
        foreach (JsonElement c in chunks[1..^2])
        {
            text.Append(c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        }
        Assert.NotEmpty(text.ToString());
    }

    [Fact]
    public async Task Stream_without_include_usage_has_no_usage_chunk()
    {
        using HttpResponseMessage response = await Server.PostStreamingAsync("v1/chat/completions", Chat(",\"max_tokens\":4,\"stream\":true"));
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"usage\"", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_completion_non_stream_and_stream()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/completions",
            """{"model":"stories260K","prompt":"Once upon a time","max_tokens":12,"temperature":0}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement root = await RunningServer.JsonAsync(response);
        Assert.Equal("text_completion", root.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        JsonElement choice = root.GetProperty("choices")[0];
        string text = choice.GetProperty("text").GetString()!;
        Assert.NotEmpty(text);
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(12, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        using HttpResponseMessage stream = await Server.PostStreamingAsync("v1/completions",
            """{"model":"stories260K","prompt":["Once upon a time"],"max_tokens":12,"temperature":0,"stream":true}""");
        string body = await stream.Content.ReadAsStringAsync();
        var streamed = new StringBuilder();
        foreach (string e in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[..^1])
        {
            using JsonDocument chunk = JsonDocument.Parse(e["data: ".Length..]);
            Assert.Equal("text_completion", chunk.RootElement.GetProperty("object").GetString());
            streamed.Append(chunk.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        }
        Assert.Equal(text, streamed.ToString());
    }

    [Fact]
    public async Task Text_completion_accepts_token_ids_and_rejects_several_prompts()
    {
        using HttpResponseMessage ids = await Server.PostJsonAsync("v1/completions", """{"prompt":[1,403,407],"max_tokens":3}""");
        Assert.Equal(HttpStatusCode.OK, ids.StatusCode);
        Assert.Equal(3, (await RunningServer.JsonAsync(ids)).GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        using HttpResponseMessage many = await Server.PostJsonAsync("v1/completions", """{"prompt":["a","b"],"max_tokens":3}""");
        await AssertErrorAsync(many, HttpStatusCode.BadRequest, "invalid_request_error", "prompt");

        using HttpResponseMessage outside = await Server.PostJsonAsync("v1/completions", """{"prompt":[1,999999],"max_tokens":3}""");
        await AssertErrorAsync(outside, HttpStatusCode.BadRequest, "invalid_request_error", "prompt");
    }

    [Fact]
    public async Task Models_list_has_openai_shape()
    {
        using HttpResponseMessage response = await Server.Http.GetAsync("v1/models");
        JsonElement root = await RunningServer.JsonAsync(response);
        Assert.Equal("list", root.GetProperty("object").GetString());
        JsonElement model = root.GetProperty("data")[0];
        Assert.Equal("stories260K", model.GetProperty("id").GetString());
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal("cria", model.GetProperty("owned_by").GetString());
    }

    [Fact]
    public async Task Health_answers_ok()
    {
        using HttpResponseMessage response = await Server.Http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", (await RunningServer.JsonAsync(response)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Completions_logprobs_use_the_legacy_parallel_lists()
    {
        using HttpResponseMessage response = await Server.PostJsonAsync("v1/completions",
            """{"model":"stories260K","prompt":"Once upon a time","max_tokens":6,"temperature":0,"logprobs":2}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement choice = (await RunningServer.JsonAsync(response)).GetProperty("choices")[0];
        JsonElement lp = choice.GetProperty("logprobs");
        string[] tokens = [.. lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!)];
        Assert.Equal(6, tokens.Length);
        Assert.Equal(choice.GetProperty("text").GetString(), string.Concat(tokens));
        Assert.All(lp.GetProperty("token_logprobs").EnumerateArray(), v => Assert.True(v.GetDouble() <= 0));
        Assert.All(lp.GetProperty("top_logprobs").EnumerateArray(), top => Assert.InRange(top.EnumerateObject().Count(), 1, 2));
        int[] offsets = [.. lp.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32())];
        Assert.Equal(0, offsets[0]);
        Assert.Equal(offsets.Skip(1), offsets.Take(5).Select((o, i) => o + tokens[i].Length));

        using HttpResponseMessage tooMany = await Server.PostJsonAsync("v1/completions", """{"model":"stories260K","prompt":"x","logprobs":21}""");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        using HttpResponseMessage topWithout = await Server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K","messages":[{"role":"user","content":"x"}],"top_logprobs":2}""");
        Assert.Equal(HttpStatusCode.BadRequest, topWithout.StatusCode);
    }
}
