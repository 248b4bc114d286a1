using System.ClientModel;
using System.Net;
using System.Text.Json;

using Cria.Core.Tests;

using Microsoft.Extensions.Logging;

using OpenAI;
using OpenAI.Chat;

namespace Cria.Server.Tests;

/// <summary>
/// Tools through the chat template: refused (400) when the template cannot show them, accepted with a
/// template that can (Qwen 2.5's), including a conversation that carries a call and its result back. The
/// prompts the server renders are read from its request log and compared with Hugging Face's rendering.
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
        var log = new GenerationLog();
        string template = TestData.Path("llama.cpp/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = template, ContextLength = 2048, LogPrompts = true }, log.AddTo);
        var client = new ChatClient("stories260K", new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });
        ChatTool weather = ChatTool.CreateFunctionTool("get_weather", "Weather in a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","pattern":"^[A-Z][a-z]{1,11}$"}},"required":["city"]}"""));
        // The tool as the SDK sends it, written by tojson.
        const string weatherAsRendered = """{"type": "function", "function": {"description": "Weather in a city", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string", "pattern": "^[A-Z][a-z]{1,11}$"}}, "required": ["city"]}}}""";
        var options = new ChatCompletionOptions { Tools = { weather }, MaxOutputTokenCount = 8, Temperature = 0 };

        // The tool's definition is in the prompt, where the template puts it.
        ChatCompletion first = await client.CompleteChatAsync([new UserChatMessage("Weather in Paris?")], options);
        Generation offered = await log.AtAsync(0);
        Assert.Equal(LoggedBos + QwenWithTool(weatherAsRendered) + QwenAssistant, offered.Prompt);
        Assert.Equal(offered.PromptTokens, first.Usage.InputTokenCount);

        // A forced call: the model's output comes back as a parsed tool call with its name and arguments.
        var forced = new ChatCompletionOptions { Tools = { weather }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"), MaxOutputTokenCount = 200, Temperature = 0 };
        ChatCompletion call = await client.CompleteChatAsync([new UserChatMessage("Weather in Paris?")], forced);
        Generation called = await log.AtAsync(1);
        Assert.Equal(offered.Prompt, called.Prompt);
        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        ChatToolCall toolCall = Assert.Single(call.ToolCalls);
        Assert.Equal("get_weather", toolCall.FunctionName);
        Assert.StartsWith("call_", toolCall.Id, StringComparison.Ordinal);
        string city;
        using (JsonDocument arguments = JsonDocument.Parse(toolCall.FunctionArguments))
        {
            JsonProperty only = Assert.Single(arguments.RootElement.EnumerateObject());
            Assert.Equal("city", only.Name);
            city = only.Value.GetString()!;
            Assert.Matches("^[A-Z][a-z]{1,11}$", city);
            // ... and they are what the model wrote between the Hermes markers.
            Assert.StartsWith("<tool_call>", called.Output, StringComparison.Ordinal);
            Assert.EndsWith("</tool_call>", called.Output, StringComparison.Ordinal);
            using JsonDocument written = JsonDocument.Parse(called.Output["<tool_call>".Length..^"</tool_call>".Length]);
            Assert.Equal("get_weather", written.RootElement.GetProperty("name").GetString());
            Assert.True(JsonElement.DeepEquals(written.RootElement.GetProperty("arguments"), arguments.RootElement), called.Output);
        }

        // The conversation continues with that call and its result, as an agent loop sends it: both are in the prompt.
        ChatMessage[] conversation =
        [
            new UserChatMessage("Weather in Paris?"),
            new AssistantChatMessage(call),
            new ToolChatMessage(toolCall.Id, "Sunny, 21 °C"),
        ];
        ChatCompletion answer = await client.CompleteChatAsync(conversation, options);
        Generation answered = await log.AtAsync(2);
        string turns = $$$"""
            <|im_start|>assistant
            <tool_call>
            {"name": "get_weather", "arguments": {"city": "{{{city}}}"}}
            </tool_call><|im_end|>
            <|im_start|>user
            <tool_response>
            Sunny, 21 °C
            </tool_response><|im_end|>

            """.ReplaceLineEndings("\n");
        Assert.Equal(LoggedBos + QwenWithTool(weatherAsRendered) + turns + QwenAssistant, answered.Prompt);
        Assert.Equal(answered.PromptTokens, answer.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Ollama_chat_takes_tools_and_tool_messages()
    {
        var log = new GenerationLog();
        string template = TestData.Path("llama.cpp/templates/Qwen-Qwen2.5-7B-Instruct.jinja");
        await using RunningServer server = await RunningServer.StartAsync(new ServerOptions { ChatTemplatePath = template, ContextLength = 2048, LogPrompts = true }, log.AddTo);
        using HttpResponseMessage response = await server.PostJsonAsync("api/chat", $$$$"""
            {"model":"stories260K","stream":false,"tools":[{{{{s_weatherTool}}}}],"options":{"num_predict":4,"temperature":0},
             "messages":[{"role":"user","content":"Weather in Paris?"},
                         {"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
                         {"role":"tool","content":"Sunny","tool_name":"get_weather"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonElement body = await RunningServer.JsonAsync(response);
        Generation generation = await log.AtAsync(0);
        const string assistantTurns = "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
            + "<|im_start|>user\n<tool_response>\nSunny\n</tool_response><|im_end|>\n";
        const string weatherAsRendered = """{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}""";
        Assert.Equal(LoggedBos + QwenWithTool(weatherAsRendered) + assistantTurns + QwenAssistant, generation.Prompt);
        Assert.Equal(generation.PromptTokens, body.GetProperty("prompt_eval_count").GetInt32());

        await using RunningServer plain = await RunningServer.StartAsync();
        using HttpResponseMessage refused = await plain.PostJsonAsync("api/chat",
            $$"""{"model":"stories260K","tools":[{{s_weatherTool}}],"messages":[{"role":"user","content":"x"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    /// <summary>The request log decodes the prompt's tokens: BOS, then SentencePiece's dummy-prefix space.</summary>
    private const string LoggedBos = "<s> ";

    private const string QwenAssistant = "<|im_start|>assistant\n";

    /// <summary>
    /// Qwen 2.5's template with one tool and the user turn "Weather in Paris?", as Hugging Face renders it:
    /// rendered for this test with Python's Jinja2 3.1.6 and HF's <c>tojson</c> (<c>json.dumps</c>,
    /// <c>ensure_ascii=False</c>), not with Cria. <paramref name="toolJson"/> is the tool as tojson writes it.
    /// </summary>
    private static string QwenWithTool(string toolJson) => $$"""
        <|im_start|>system
        You are Qwen, created by Alibaba Cloud. You are a helpful assistant.

        # Tools

        You may call one or more functions to assist with the user query.

        You are provided with function signatures within <tools></tools> XML tags:
        <tools>
        {{toolJson}}
        </tools>

        For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
        <tool_call>
        {"name": <function-name>, "arguments": <args-json-object>}
        </tool_call><|im_end|>
        <|im_start|>user
        Weather in Paris?<|im_end|>

        """.ReplaceLineEndings("\n");

    /// <summary>What the server logs per generation with <see cref="ServerOptions.LogPrompts"/>: a real logging provider, not a mock of the server.</summary>
    private sealed class GenerationLog : ILoggerProvider
    {
        private readonly List<Generation> _generations = [];

        public void AddTo(ILoggingBuilder logging) => logging.AddProvider(this);

        /// <summary>
        /// The <paramref name="index"/>th generation logged (0-based). The line is written as the generation
        /// ends, which may be just after its response is sent: wait for it (at most ~10 s).
        /// </summary>
        public async Task<Generation> AtAsync(int index)
        {
            for (int i = 0; i < 200; i++)
            {
                lock (_generations)
                {
                    if (_generations.Count > index)
                    {
                        return _generations[index];
                    }
                }
                await Task.Delay(50);
            }
            int count;
            lock (_generations)
            {
                count = _generations.Count;
            }
            throw new TimeoutException($"{count} generations logged, wanted #{index}");
        }

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName == "Cria.Requests" ? _generations : null);

        public void Dispose()
        {
        }

        private sealed class Logger(List<Generation>? generations) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => generations is not null && logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                // The structured fields of the request line, not its formatted text.
                if (generations is null || state is not IReadOnlyList<KeyValuePair<string, object?>> fields)
                {
                    return;
                }
                var values = new Dictionary<string, object?>();
                foreach ((string key, object? value) in fields)
                {
                    values[key] = value;
                }
                if (values.TryGetValue("Prompt", out object? prompt) && values.TryGetValue("Output", out object? output) && values.TryGetValue("PromptTokens", out object? tokens))
                {
                    lock (generations)
                    {
                        generations.Add(new Generation((string)prompt!, (string)output!, (int)tokens!));
                    }
                }
            }
        }
    }

    /// <summary>One logged generation: the prompt as the model saw it (decoded from its tokens), the raw output, the prompt's token count.</summary>
    private sealed record Generation(string Prompt, string Output, int PromptTokens);
}
