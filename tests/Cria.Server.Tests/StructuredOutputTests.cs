using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;

using Cria.Core.Tests;

using OpenAI;
using OpenAI.Chat;

namespace Cria.Server.Tests;

/// <summary>
/// Structured output and forced tool calls through the official OpenAI SDK against the bundled
/// (tiny, story-trained) model: whatever it would say, the grammar makes the answer valid.
/// </summary>
public sealed class StructuredOutputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private sealed record Pet(string Name, string Kind, int Age, bool Friendly, List<string> Toys);

    private static readonly JsonSerializerOptions s_web = new(JsonSerializerDefaults.Web);

    private static readonly string s_petSchema = """
        {"type":"object","properties":{
           "name":{"type":"string","maxLength":12},
           "kind":{"enum":["cat","dog","bird"]},
           "age":{"type":"integer"},
           "friendly":{"type":"boolean"},
           "toys":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3}},
         "required":["name","kind","age","friendly","toys"],"additionalProperties":false}
        """;

    private ChatClient Chat(RunningServer? server = null) =>
        new("stories260K", new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri((server ?? fixture.Server).BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    [Fact]
    public async Task Json_schema_answers_always_deserialize_into_the_schemas_type()
    {
        ChatClient chat = Chat();
        for (int seed = 0; seed < 12; seed++)
        {
            var options = new ChatCompletionOptions
            {
                ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("pet", BinaryData.FromString(s_petSchema), jsonSchemaIsStrict: true),
                Temperature = 1f,
                Seed = seed,
                MaxOutputTokenCount = 400,
            };
            ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Describe a pet.")], options);
            Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
            string json = completion.Content[0].Text;
            Pet? pet = JsonSerializer.Deserialize<Pet>(json, s_web);
            Assert.NotNull(pet);
            Assert.Contains(pet.Kind, new[] { "cat", "dog", "bird" });
            Assert.InRange(pet.Name.Length, 0, 12);
            Assert.InRange(pet.Toys.Count, 0, 3);
        }
    }

    [Fact]
    public async Task Json_object_mode_and_a_gbnf_grammar_are_followed()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync([new UserChatMessage("Give me JSON.")],
            new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(), Temperature = 0.8f, Seed = 3, MaxOutputTokenCount = 300 });
        if (completion.FinishReason == ChatFinishReason.Stop)
        {
            using JsonDocument doc = JsonDocument.Parse(completion.Content[0].Text);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        }

        using HttpResponseMessage yesNo = await fixture.Server.PostJsonAsync("v1/chat/completions",
            """{"model":"stories260K","messages":[{"role":"user","content":"Is the sky blue?"}],"grammar":"root ::= \"yes\" | \"no\"","temperature":1,"seed":4}""");
        Assert.Equal(HttpStatusCode.OK, yesNo.StatusCode);
        string answer = (await RunningServer.JsonAsync(yesNo)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Contains(answer, new[] { "yes", "no" });
    }

    [Theory]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":{"not":{"type":"string"}}}}""", "not")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x"}}""", "json_schema")]
    [InlineData("""{"type":"xml"}""", "response_format.type")]
    public async Task Schemas_cria_cannot_enforce_are_a_400_naming_the_problem(string format, string named)
    {
        using HttpResponseMessage response = await fixture.Server.PostJsonAsync("v1/chat/completions",
            $$"""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"response_format":{{format}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, (await RunningServer.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ollama_format_json_schema_is_followed()
    {
        using HttpResponseMessage response = await fixture.Server.PostJsonAsync("api/chat", $$"""
            {"model":"stories260K","stream":false,"format":{{s_petSchema}},"options":{"temperature":0.7,"seed":9,"num_predict":400},
             "messages":[{"role":"user","content":"A pet?"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string json = (await RunningServer.JsonAsync(response)).GetProperty("message").GetProperty("content").GetString()!;
        Assert.NotNull(JsonSerializer.Deserialize<Pet>(json, s_web));
    }

    [Fact]
    public async Task A_forced_tool_call_round_trips_through_the_sdk_streamed_and_not()
    {
        string template = TestData.Path("llama.cpp/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = template, ContextLength = 2048 });
        ChatClient chat = Chat(server);
        ChatTool weather = ChatTool.CreateFunctionTool("get_weather", "Weather in a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","maxLength":16},"days":{"type":"integer"}},"required":["city"],"additionalProperties":false}"""));
        ChatTool time = ChatTool.CreateFunctionTool("get_time", "Time in a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","maxLength":16}},"required":["city"],"additionalProperties":false}"""));
        var options = new ChatCompletionOptions { Tools = { weather, time }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), Temperature = 0.8f, Seed = 1, MaxOutputTokenCount = 300 };
        List<ChatMessage> conversation = [new UserChatMessage("What is the weather in Paris?")];

        ChatCompletion call = await chat.CompleteChatAsync(conversation, options);
        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        ChatToolCall toolCall = Assert.Single(call.ToolCalls);
        Assert.Contains(toolCall.FunctionName, new[] { "get_weather", "get_time" });
        using (JsonDocument args = JsonDocument.Parse(toolCall.FunctionArguments))
        {
            Assert.Equal(JsonValueKind.String, args.RootElement.GetProperty("city").ValueKind);
        }
        Assert.StartsWith("call_", toolCall.Id, StringComparison.Ordinal);

        // The same request streamed: deltas assemble into the same call.
        var name = new StringBuilder();
        var arguments = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (StreamingChatCompletionUpdate update in chat.CompleteChatStreamingAsync(conversation, options))
        {
            foreach (StreamingChatToolCallUpdate delta in update.ToolCallUpdates)
            {
                name.Append(delta.FunctionName);
                arguments.Append(delta.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(toolCall.FunctionName, name.ToString());
        Assert.Equal(toolCall.FunctionArguments.ToString(), arguments.ToString());

        // A named function, then the result goes back and the model answers in text.
        var named = new ChatCompletionOptions { Tools = { weather, time }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_time"), Seed = 2, MaxOutputTokenCount = 300 };
        ChatCompletion timeCall = await chat.CompleteChatAsync(conversation, named);
        Assert.Equal("get_time", Assert.Single(timeCall.ToolCalls).FunctionName);

        conversation.Add(new AssistantChatMessage(call));
        conversation.Add(new ToolChatMessage(toolCall.Id, "Sunny, 21 °C"));
        ChatCompletion answer = await chat.CompleteChatAsync(conversation, new ChatCompletionOptions { Tools = { weather, time }, ToolChoice = ChatToolChoice.CreateNoneChoice(), MaxOutputTokenCount = 10 });
        Assert.Empty(answer.ToolCalls);
        Assert.NotEqual(ChatFinishReason.ToolCalls, answer.FinishReason);
    }
}
