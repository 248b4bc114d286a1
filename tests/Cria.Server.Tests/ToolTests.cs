using System.ClientModel;
using System.Net;
using System.Text.Json;

using Cria.Core.Tests;

using OpenAI;
using OpenAI.Chat;

namespace Cria.Server.Tests;

/// <summary>
/// Tools through the chat template: refused (400) when the template cannot show them, accepted with a
/// template that can (Qwen 2.5's), including a conversation that carries a call and its result back.
/// </summary>
public sealed class ToolTests
{
    private static readonly string s_weatherTool = """
        {"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}
        """;

    [Fact]
    public async Task Tools_with_a_template_that_cannot_show_them_are_a_400_not_dropped()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        using HttpResponseMessage response = await server.PostJsonAsync("v1/chat/completions",
            $$"""{"model":"stories260K","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[{{s_weatherTool}}],"max_tokens":4}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement error = (await RunningServer.JsonAsync(response)).GetProperty("error");
        Assert.Equal("tools_not_supported", error.GetProperty("code").GetString());

        // tool_choice "none" does not offer them, so it is fine.
        using HttpResponseMessage none = await server.PostJsonAsync("v1/chat/completions",
            $$"""{"model":"stories260K","messages":[{"role":"user","content":"Weather?"}],"tools":[{{s_weatherTool}}],"tool_choice":"none","max_tokens":4}""");
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);
    }

    [Theory]
    [InlineData("""[{"type":"retrieval"}]""", null)]
    [InlineData("""[{"type":"function","function":{"name":"bad name"}}]""", null)]
    [InlineData("""{"type":"function"}""", null)]
    [InlineData(null, "\"required\"")]
    [InlineData("TOOL", "{\"type\":\"function\",\"function\":{\"name\":\"other\"}}")]
    [InlineData("TOOL", "\"sometimes\"")]
    public async Task Malformed_tools_and_choices_are_400(string? tools, string? choice)
    {
        await using RunningServer server = await RunningServer.StartAsync();
        string toolsJson = tools == "TOOL" ? $",\"tools\":[{s_weatherTool}]" : tools is null ? "" : $",\"tools\":{tools}";
        string choiceJson = choice is null ? "" : $",\"tool_choice\":{choice}";
        using HttpResponseMessage response = await server.PostJsonAsync("v1/chat/completions",
            $$"""{"model":"stories260K","messages":[{"role":"user","content":"x"}]{{toolsJson}}{{choiceJson}},"max_tokens":2}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_template_with_tools_takes_them_and_a_call_result_round_trip()
    {
        string template = TestData.Path("llama.cpp/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = template, ContextLength = 2048 });
        var client = new ChatClient("stories260K", new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });
        ChatTool weather = ChatTool.CreateFunctionTool("get_weather", "Weather in a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
        var options = new ChatCompletionOptions { Tools = { weather }, MaxOutputTokenCount = 8, Temperature = 0 };
        ChatCompletion first = await client.CompleteChatAsync([new UserChatMessage("Weather in Paris?")], options);
        Assert.True(first.Usage.InputTokenCount > 100); // the tool's schema is in the prompt

        // The conversation continues with a call and its result, as an agent loop sends it.
        ChatMessage[] conversation =
        [
            new UserChatMessage("Weather in Paris?"),
            new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall("call_1", "get_weather", BinaryData.FromString("""{"city":"Paris"}"""))]),
            new ToolChatMessage("call_1", "Sunny, 21 °C"),
        ];
        ChatCompletion answer = await client.CompleteChatAsync(conversation, options);
        Assert.True(answer.Usage.InputTokenCount > first.Usage.InputTokenCount);
        Assert.NotNull(answer.Content);
    }

    [Fact]
    public async Task Ollama_chat_takes_tools_and_tool_messages()
    {
        string template = TestData.Path("llama.cpp/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = template, ContextLength = 2048 });
        using HttpResponseMessage response = await server.PostJsonAsync("api/chat", $$$$"""
            {"model":"stories260K","stream":false,"tools":[{{{{s_weatherTool}}}}],"options":{"num_predict":4,"temperature":0},
             "messages":[{"role":"user","content":"Weather in Paris?"},
                         {"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
                         {"role":"tool","content":"Sunny","tool_name":"get_weather"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement body = await RunningServer.JsonAsync(response);
        Assert.True(body.GetProperty("prompt_eval_count").GetInt32() > 100);

        await using RunningServer plain = await RunningServer.StartAsync();
        using HttpResponseMessage refused = await plain.PostJsonAsync("api/chat",
            $$"""{"model":"stories260K","tools":[{{s_weatherTool}}],"messages":[{"role":"user","content":"x"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
