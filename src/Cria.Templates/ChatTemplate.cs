using System.Text.Json;

namespace Cria.Templates;

/// <summary>
/// A model's chat template (GGUF <c>tokenizer.chat_template</c>, or a file given on the command
/// line) rendered the way llama.cpp's server does it with its Jinja engine: the template sees
/// <c>messages</c>, <c>add_generation_prompt</c>, <c>bos_token</c>, <c>eos_token</c>, <c>tools</c>
/// and <c>strftime_now</c>. As in llama.cpp, <c>tools</c> is left undefined when a request has none
/// (Hugging Face passes None): templates guard it with <c>is defined</c> or truthiness either way,
/// and Hermes' tool-use template iterates it unguarded, which only works on undefined.
/// Around the rendering, two of llama.cpp's steps apply: system text is merged into the next user
/// turn when the template has no system role (<see cref="SupportsSystemRole"/>), and a leading
/// <c>bos_token</c> and trailing <c>eos_token</c> are cut from the result, because the tokenizer
/// adds BOS itself (per the vocabulary's add-BOS flag) and a prompt must not end in EOS.
/// </summary>
public sealed partial class ChatTemplate
{
    /// <summary>
    /// The template for a model whose GGUF has none: ChatML (<c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>,
    /// then <c>&lt;|im_start|&gt;assistant\n</c>). It is what llama.cpp falls back to for a model without
    /// a template, and what Hugging Face used as its default template before transformers 4.43, so
    /// it is the format template-less fine-tunes were most likely trained on. A null content prints as empty.
    /// </summary>
    public const string DefaultSource = """
        {%- for message in messages -%}
            {{- '<|im_start|>' + message['role'] + '\n' + (message['content'] if message['content'] is string else '') + '<|im_end|>\n' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
            {{- '<|im_start|>assistant\n' -}}
        {%- endif -%}
        """;

    private readonly Template _template;

    /// <summary>Parses the template and probes what it supports; a syntax error is a <see cref="TemplateException"/>.</summary>
    public ChatTemplate(string source, TemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _template = Template.Parse(source, options);
        SupportsSystemRole = ProbeSystemRole();
        SupportsTools = ProbeTools();
        RequiresObjectArguments = ProbeObjectArguments();
    }

    /// <summary>The model's template, or the <see cref="DefaultSource"/> (ChatML) when it has none.</summary>
    public static ChatTemplate FromGgufOrDefault(string? source, TemplateOptions? options = null) =>
        new(string.IsNullOrWhiteSpace(source) ? DefaultSource : source, options);

    public string Source => _template.Source;

    /// <summary>True when this is the built-in ChatML default.</summary>
    public bool IsDefault => Source == DefaultSource;

    /// <summary>
    /// Whether a system message survives rendering (llama.cpp's probe: render a system "needle" and a
    /// user turn and look for the needle). Templates that reject or drop system messages get the
    /// system text joined onto the first user message instead (system + "\n" + user).
    /// </summary>
    public bool SupportsSystemRole { get; }

    /// <summary>Whether the template renders a <c>tools</c> list (probe: a tool named "some_tool" appears in the output).</summary>
    public bool SupportsTools { get; }

    /// <summary>
    /// Whether tool-call arguments must be JSON objects rather than the OpenAI-style JSON string
    /// (Llama 3.1 does <c>arguments | tojson</c>); when true, string arguments are parsed before rendering.
    /// </summary>
    public bool RequiresObjectArguments { get; }

    /// <summary>Cut a leading <c>bos_token</c> and trailing <c>eos_token</c> from the output (llama.cpp's behaviour). Default true.</summary>
    public bool StripBosEos { get; init; } = true;

    /// <summary>
    /// Renders a conversation into the prompt text.
    /// </summary>
    /// <param name="tools">The OpenAI-style tools array, or null; an empty array counts as none (then <c>tools</c> is undefined).</param>
    /// <param name="extra">More template variables (e.g. <c>date_string</c>, <c>tools_in_user_message</c>); they override the standard ones.</param>
    /// <exception cref="TemplateException">The template failed or raised (<see cref="TemplateErrorKind.Raised"/>); the message has the template line.</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken,
        JsonElement? tools = null, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(bosToken);
        ArgumentNullException.ThrowIfNull(eosToken);
        Value? toolsValue = tools is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } t
            && !(t.ValueKind == JsonValueKind.Array && t.GetArrayLength() == 0)
            ? ValueConvert.FromJson(t)
            : null;
        string text = RenderValues(BuildMessages(messages), addGenerationPrompt, bosToken, eosToken, toolsValue, extra);
        if (StripBosEos)
        {
            if (bosToken.Length > 0 && text.StartsWith(bosToken, StringComparison.Ordinal))
            {
                text = text[bosToken.Length..];
            }
            if (eosToken.Length > 0 && text.EndsWith(eosToken, StringComparison.Ordinal))
            {
                text = text[..^eosToken.Length];
            }
        }
        return text;
    }

    private string RenderValues(ListValue messages, bool addGenerationPrompt, string bosToken, string eosToken, Value? tools,
        IReadOnlyDictionary<string, object?>? extra)
    {
        var variables = new List<KeyValuePair<string, Value>>
        {
            new("messages", messages),
            new("add_generation_prompt", BoolValue.Of(addGenerationPrompt)),
            new("bos_token", StringValue.Of(bosToken)),
            new("eos_token", StringValue.Of(eosToken)),
        };
        if (tools is not null)
        {
            variables.Add(new("tools", tools));
        }
        if (extra is not null)
        {
            variables.AddRange(extra.Select(kv => KeyValuePair.Create(kv.Key, ValueConvert.FromObject(kv.Value))));
        }
        return _template.Render(variables);
    }

    /// <summary>
    /// The messages as template values, with llama.cpp's polyfills: system text merged into the next
    /// user turn when the template has no system role (a system message with nothing after it
    /// becomes a user message), and string tool-call arguments parsed when the template needs objects.
    /// </summary>
    private ListValue BuildMessages(IReadOnlyList<ChatMessage> messages)
    {
        var result = new List<Value>(messages.Count);
        string pendingSystem = "";
        foreach (ChatMessage message in messages)
        {
            DictValue value = ToValue(message);
            if (!SupportsSystemRole && message.Content is not null)
            {
                if (message.Role == "system")
                {
                    pendingSystem = pendingSystem.Length > 0 ? pendingSystem + "\n" + message.Content : message.Content;
                    continue;
                }
                if (pendingSystem.Length > 0 && message.Role == "user")
                {
                    value.Set("content", StringValue.Of(message.Content.Length == 0 ? pendingSystem : pendingSystem + "\n" + message.Content));
                    pendingSystem = "";
                }
                else if (pendingSystem.Length > 0)
                {
                    result.Add(ToValue(ChatMessage.User(pendingSystem)));
                    pendingSystem = "";
                }
            }
            result.Add(value);
        }
        if (pendingSystem.Length > 0)
        {
            result.Add(ToValue(ChatMessage.User(pendingSystem)));
        }
        return new ListValue(result);
    }

    private DictValue ToValue(ChatMessage message)
    {
        var value = new DictValue();
        value.Set("role", StringValue.Of(message.Role));
        value.Set("content", message.Content is null ? NoneValue.Instance : StringValue.Of(message.Content));
        if (message.ToolCalls is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } calls)
        {
            Value toolCalls = ValueConvert.FromJson(calls);
            if (RequiresObjectArguments)
            {
                ParseArguments(toolCalls);
            }
            value.Set("tool_calls", toolCalls);
        }
        if (message.ToolCallId is not null)
        {
            value.Set("tool_call_id", StringValue.Of(message.ToolCallId));
        }
        if (message.Name is not null)
        {
            value.Set("name", StringValue.Of(message.Name));
        }
        return value;
    }

    /// <summary>Replaces JSON-string <c>function.arguments</c> with the object they encode (kept as is if not JSON).</summary>
    private static void ParseArguments(Value toolCalls)
    {
        if (toolCalls is not ListValue list)
        {
            return;
        }
        foreach (Value call in list.Items)
        {
            if (call is DictValue c && c.TryGet("function", out Value function) && function is DictValue f
                && f.TryGet("arguments", out Value arguments) && arguments is StringValue json)
            {
                try
                {
                    using JsonDocument doc = JsonDocument.Parse(json.Value);
                    f.Set("arguments", ValueConvert.FromJson(doc.RootElement));
                }
                catch (JsonException)
                {
                    // Not JSON: leave the string for the template to print.
                }
            }
        }
    }
}
