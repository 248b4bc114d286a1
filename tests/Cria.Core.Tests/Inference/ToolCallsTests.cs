using Cria.Core.Inference;

namespace Cria.Core.Tests.Inference;

/// <summary>Tool calls in the three output formats, malformed calls left as content, and formats read from real templates.</summary>
public sealed class ToolCallsTests
{
    [Fact]
    public void Hermes_blocks_become_calls_and_the_rest_is_content()
    {
        const string text = "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>{\"name\":\"get_time\",\"arguments\":{}}</tool_call>";
        (string content, IReadOnlyList<ParsedToolCall> calls) = ToolCalls.Parse(text, ToolCallFormat.Hermes);
        Assert.Equal("Let me look.", content);
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal("{\"city\": \"Paris\"}", calls[0].ArgumentsJson);
        Assert.Equal("{}", calls[1].ArgumentsJson);
    }

    [Fact]
    public void Mistral_and_llama3_json_forms_parse()
    {
        (string content, IReadOnlyList<ParsedToolCall> calls) = ToolCalls.Parse("[TOOL_CALLS] [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}]", ToolCallFormat.Mistral);
        Assert.Equal("", content);
        Assert.Equal("add", Assert.Single(calls).Name);

        (content, calls) = ToolCalls.Parse(" {\"name\": \"search\", \"parameters\": {\"q\": \"cats; dogs\"}}", ToolCallFormat.Json);
        Assert.Equal("", content);
        Assert.Equal("{\"q\": \"cats; dogs\"}", Assert.Single(calls).ArgumentsJson);

        (_, calls) = ToolCalls.Parse("<|python_tag|>{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"arguments\": \"{\\\"x\\\": 1}\"}", ToolCallFormat.Json);
        Assert.Equal(["a", "b"], calls.Select(c => c.Name));
        Assert.Equal("{\"x\": 1}", calls[1].ArgumentsJson);
    }

    [Theory]
    [InlineData("<tool_call>{\"name\": \"f\", \"arguments\": {</tool_call>", ToolCallFormat.Hermes)]
    [InlineData("<tool_call>{\"arguments\": {}}</tool_call>", ToolCallFormat.Hermes)]
    [InlineData("[TOOL_CALLS] not json", ToolCallFormat.Mistral)]
    [InlineData("{\"name\": \"f\", \"arguments\": [1, 2]}", ToolCallFormat.Json)]
    [InlineData("{\"name\": \"\", \"arguments\": {}}", ToolCallFormat.Json)]
    [InlineData("Just text {\"name\": \"f\"}", ToolCallFormat.Json)]
    public void Malformed_calls_are_content(string text, ToolCallFormat format)
    {
        (string content, IReadOnlyList<ParsedToolCall> calls) = ToolCalls.Parse(text, format);
        Assert.Empty(calls);
        Assert.Equal(text, content);
    }

    [Fact]
    public void Streaming_holds_back_only_what_may_start_a_call()
    {
        Assert.Equal(-1, ToolCalls.HoldFrom("Hello there", ToolCallFormat.Hermes));
        Assert.Equal(6, ToolCalls.HoldFrom("Hello <tool", ToolCallFormat.Hermes));
        Assert.Equal(6, ToolCalls.HoldFrom("Hello <tool_call>{\"na", ToolCallFormat.Hermes));
        Assert.Equal(0, ToolCalls.HoldFrom("  {\"name", ToolCallFormat.Json));
        Assert.Equal(0, ToolCalls.HoldFrom("<|pyth", ToolCallFormat.Json));
        Assert.Equal(-1, ToolCalls.HoldFrom("Sure, {", ToolCallFormat.Json));
        Assert.Equal(3, ToolCalls.HoldFrom("ok [TOOL_", ToolCallFormat.Mistral));
    }

    [Theory]
    [InlineData("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", ToolCallFormat.Hermes)]
    [InlineData("Qwen-Qwen2.5-7B-Instruct.jinja", ToolCallFormat.Hermes)]
    [InlineData("meta-llama-Llama-3.1-8B-Instruct.jinja", ToolCallFormat.Json)]
    [InlineData("mistralai-Mistral-Nemo-Instruct-2407.jinja", ToolCallFormat.Mistral)]
    public void Formats_are_read_from_real_templates(string file, ToolCallFormat expected) =>
        Assert.Equal(expected, ToolCalls.DetectFormat(File.ReadAllText(TestData.Path("llama.cpp/templates/" + file))));
}
