namespace Cria.Templates;

// Capability probes, after llama.cpp's minja chat_template: render tiny conversations containing
// "needles" with no polyfills and look for the needles in the output. A probe whose rendering
// fails counts as "not supported".

public sealed partial class ChatTemplate
{
    private const string UserNeedle = "<User Needle>";
    private const string SystemNeedle = "<System Needle>";

    private bool ProbeSystemRole() =>
        TryRender([Message("system", SystemNeedle), Message("user", UserNeedle)], null).Contains(SystemNeedle, StringComparison.Ordinal);

    private bool ProbeTools()
    {
        DictValue parameters = Dict(
            ("type", StringValue.Of("object")),
            ("properties", Dict(("arg", Dict(("type", StringValue.Of("string")), ("description", StringValue.Of("Some argument.")))))),
            ("required", new ListValue([StringValue.Of("arg")])));
        DictValue tool = Dict(
            ("name", StringValue.Of("some_tool")),
            ("type", StringValue.Of("function")),
            ("function", Dict(
                ("name", StringValue.Of("some_tool")),
                ("description", StringValue.Of("Some tool.")),
                ("parameters", parameters))));
        return TryRender([Message("user", UserNeedle)], new ListValue([tool])).Contains("some_tool", StringComparison.Ordinal);
    }

    /// <summary>True when tool-call arguments only render as a JSON object, not as the JSON string OpenAI sends.</summary>
    private bool ProbeObjectArguments()
    {
        DictValue arguments = Dict(("argument_needle", StringValue.Of("print('Hello, World!')")));
        bool rendersString = RendersArguments(StringValue.Of(JsonDump.Dump(arguments)));
        bool rendersObject = RendersArguments(arguments);
        return !rendersString && rendersObject;
    }

    private bool RendersArguments(Value arguments)
    {
        DictValue call = Dict(
            ("id", StringValue.Of("call_1___")),
            ("type", StringValue.Of("function")),
            ("function", Dict(("arguments", arguments), ("name", StringValue.Of("ipython")))));
        DictValue assistant = Message("assistant", null);
        assistant.Set("tool_calls", new ListValue([call]));
        string output = TryRender([Message("user", UserNeedle), assistant], null);
        return output.Contains("\"argument_needle\":", StringComparison.Ordinal) || output.Contains("'argument_needle':", StringComparison.Ordinal);
    }

    private string TryRender(List<Value> messages, Value? tools)
    {
        try
        {
            return RenderValues(new ListValue(messages), addGenerationPrompt: false, "", "", tools, extra: null);
        }
        catch (TemplateException)
        {
            return "";
        }
    }

    private static DictValue Message(string role, string? content) =>
        Dict(("role", StringValue.Of(role)), ("content", content is null ? NoneValue.Instance : StringValue.Of(content)));

    private static DictValue Dict(params (string Key, Value Value)[] entries)
    {
        var dict = new DictValue();
        foreach ((string key, Value value) in entries)
        {
            dict.Set(key, value);
        }
        return dict;
    }
}
