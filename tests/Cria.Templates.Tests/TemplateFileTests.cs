using System.Text.Json;

using Cria.Core.Tests;

namespace Cria.Templates.Tests;

/// <summary>
/// Every real template in tests/data (llama.cpp/templates, templates-other) renders a plain
/// conversation, and the tool-calling ones render tools, an assistant tool call and a tool result.
/// </summary>
public sealed class TemplateFileTests
{
    private const string Hermes = "llama.cpp/templates/NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja";
    private const string Qwen = "llama.cpp/templates/Qwen-Qwen2.5-7B-Instruct.jinja";
    private const string Llama31 = "llama.cpp/templates/meta-llama-Llama-3.1-8B-Instruct.jinja";
    private const string Llama32 = "llama.cpp/templates/meta-llama-Llama-3.2-3B-Instruct.jinja";
    private const string MistralNemo = "llama.cpp/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja";
    private const string DeepSeekR1 = "llama.cpp/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja";
    private const string FireFunction = "llama.cpp/templates/fireworks-ai-llama-3-firefunction-v2.jinja";

    /// <summary>Templates that take a <c>tools</c> list.</summary>
    private static readonly string[] s_toolTemplates = [Hermes, Qwen, Llama31, Llama32, MistralNemo];

    public static TheoryData<string> AllFiles =>
    [
        .. Directory.GetFiles(TestData.Path("llama.cpp/templates"), "*.jinja").Select(p => "llama.cpp/templates/" + Path.GetFileName(p)),
        .. Directory.GetFiles(TestData.Path("templates-other"), "*.jinja").Select(p => "templates-other/" + Path.GetFileName(p)),
    ];

    /// <summary>The tool templates, plus DeepSeek R1 (renders tool calls, no tools list) and FireFunction (tools come in as <c>functions</c>).</summary>
    public static TheoryData<string> ToolCallingFiles => [.. s_toolTemplates, DeepSeekR1, FireFunction];

    private static ChatTemplate Load(string file) => new(File.ReadAllText(TestData.Path(file)));

    /// <summary>FireFunction reads <c>functions</c> and <c>datetime</c> instead of <c>tools</c>; llama.cpp passes them the same way.</summary>
    private static Dictionary<string, object?>? Extra(string file, JsonElement? tools) => file == FireFunction
        ? new() { ["datetime"] = "Jan 29 2025 13:00:00 GMT", ["functions"] = tools is null ? "" : JsonSerializer.Serialize(tools.Value) }
        : null;

    [Fact]
    public void All_twelve_template_files_are_found()
    {
        Assert.Equal(12, AllFiles.Count);
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Renders_a_plain_conversation(string file)
    {
        ChatTemplate template = Load(file);
        string withSystem = template.Render(ChatConversations.Plain, true, "<s>", "</s>", extra: Extra(file, null));
        Assert.Contains("Hello", withSystem, StringComparison.Ordinal);
        Assert.Contains("What is 2+2?", withSystem, StringComparison.Ordinal);
        Assert.Contains("You are helpful.", withSystem, StringComparison.Ordinal);
        string withoutSystem = template.Render(ChatConversations.Plain.Skip(1).ToList(), true, "<s>", "</s>", extra: Extra(file, null));
        Assert.Contains("Hi there", withoutSystem, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ToolCallingFiles))]
    public void Renders_tools_a_tool_call_and_its_result(string file)
    {
        ChatTemplate template = Load(file);
        JsonElement? tools = s_toolTemplates.Contains(file) ? ChatConversations.Tools : null;
        string prompt = template.Render(ChatConversations.WithToolCall, true, "<s>", "</s>", tools, Extra(file, ChatConversations.Tools));
        Assert.Contains("get_weather", prompt, StringComparison.Ordinal);
        Assert.Contains("Paris", prompt, StringComparison.Ordinal);
        Assert.Contains("21", prompt, StringComparison.Ordinal);
        Assert.Contains("Thanks", prompt, StringComparison.Ordinal);
        if (tools is not null)
        {
            Assert.Contains("The city name.", prompt, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Tool_probe_finds_exactly_the_templates_that_take_tools()
    {
        foreach (string file in AllFiles.Cast<object[]>().Select(row => (string)row[0]))
        {
            Assert.True(s_toolTemplates.Contains(file) == Load(file).SupportsTools, file);
        }
    }

    [Fact]
    public void Templates_that_tojson_the_arguments_get_them_as_objects()
    {
        // Qwen, Llama 3.x and Mistral Nemo print arguments with tojson, so a JSON string would be
        // encoded twice; Hermes prints strings as is and DeepSeek R1 concatenates them.
        string[] objectArguments = [Qwen, Llama31, Llama32, MistralNemo];
        foreach (string file in ToolCallingFiles.Cast<object[]>().Select(row => (string)row[0]))
        {
            Assert.True(objectArguments.Contains(file) == Load(file).RequiresObjectArguments, file);
        }
        string llama = Load(Llama31).Render(ChatConversations.WithToolCall, true, "<|begin_of_text|>", "<|eot_id|>", ChatConversations.Tools);
        Assert.Contains("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", llama, StringComparison.Ordinal);
    }

    [Fact]
    public void Qwen_with_tools_matches_Jinja2()
    {
        // Expected: Jinja2 3.1.6 rendering this template with Hugging Face's settings, the same
        // conversation, and the tool call's arguments as an object (what the polyfill passes Qwen).
        string expected =
            "<|im_start|>system\nYou are helpful.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
            "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather for a city.\", " +
            "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"The city name.\"}, " +
            "\"unit\": {\"type\": \"string\", \"enum\": [\"c\", \"f\"]}}, \"required\": [\"city\"]}}}\n</tools>\n\n" +
            "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
            "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
            "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n" +
            "<|im_start|>assistant\nIt is 21 degrees.<|im_end|>\n<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n";
        string actual = Load(Qwen).Render(ChatConversations.WithToolCall, true, "<s>", "</s>", ChatConversations.Tools);
        TextDiff.AssertSame(expected, actual, "Qwen2.5 with tools");
    }
}
