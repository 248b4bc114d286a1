using System.Text.Json;

using Cria.Core.Tests;

namespace Cria.Templates.Tests;

/// <summary>The chat façade: default template, system merge, BOS/EOS strip, tools, message fields.</summary>
public sealed class ChatTemplateTests
{
    /// <summary>A template that rejects system messages and prints each message as [role:content].</summary>
    private const string NoSystem =
        "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system') }}{% endif %}[{{ m.role }}:{{ m.content }}]{% endfor %}";

    [Fact]
    public void Default_is_chatml_when_the_gguf_has_no_template()
    {
        ChatTemplate template = ChatTemplate.FromGgufOrDefault(null);
        Assert.True(template.IsDefault);
        Assert.True(ChatTemplate.FromGgufOrDefault("  \n").IsDefault);
        Assert.True(template.SupportsSystemRole);
        Assert.False(template.SupportsTools);
        string prompt = template.Render([ChatMessage.System("S"), ChatMessage.User("U"), ChatMessage.Assistant(null), ChatMessage.User("V")], true, "<s>", "</s>");
        Assert.Equal(
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n" +
            "<|im_start|>user\nV<|im_end|>\n<|im_start|>assistant\n",
            prompt);
        Assert.False(ChatTemplate.FromGgufOrDefault("{{ messages }}").IsDefault);
    }

    [Fact]
    public void System_text_merges_into_the_next_user_turn_when_unsupported()
    {
        var template = new ChatTemplate(NoSystem);
        Assert.False(template.SupportsSystemRole);
        ChatMessage[] messages =
        [
            ChatMessage.System("A"), ChatMessage.System("B"), ChatMessage.User("U"), ChatMessage.Assistant("R"),
            ChatMessage.System("S2"), ChatMessage.User("U2"), ChatMessage.System("S3"),
        ];
        Assert.Equal("[user:A\nB\nU][assistant:R][user:S2\nU2][user:S3]", template.Render(messages, false, "", ""));
        Assert.Equal("[user:A][assistant:R]", template.Render([ChatMessage.System("A"), ChatMessage.Assistant("R")], false, "", ""));
        Assert.Equal("[user:A]", template.Render([ChatMessage.System("A"), ChatMessage.User("")], false, "", ""));
    }

    [Fact]
    public void Templates_with_a_system_role_get_messages_unchanged()
    {
        var template = new ChatTemplate("{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}");
        Assert.True(template.SupportsSystemRole);
        Assert.Equal("[system:A][user:U]", template.Render([ChatMessage.System("A"), ChatMessage.User("U")], false, "", ""));
    }

    [Fact]
    public void One_leading_bos_and_one_trailing_eos_are_cut()
    {
        const string source = "{{ bos_token }}{{ bos_token }}x{{ eos_token }}";
        Assert.Equal("<s>x", new ChatTemplate(source).Render([], false, "<s>", "</s>"));
        Assert.Equal("<s><s>x</s>", new ChatTemplate(source) { StripBosEos = false }.Render([], false, "<s>", "</s>"));
        Assert.Equal("x", new ChatTemplate("x").Render([], false, "", ""));
    }

    [Fact]
    public void Tools_are_undefined_unless_given()
    {
        var template = new ChatTemplate("{{ tools is defined }}{% if tools %}:{{ tools | map(attribute='function.name') | join(',') }}{% endif %}");
        Assert.Equal("False", template.Render([], false, "", ""));
        Assert.Equal("False", template.Render([], false, "", "", ChatConversations.Json("[]")));
        Assert.Equal("False", template.Render([], false, "", "", ChatConversations.Json("null")));
        Assert.Equal("True:get_weather", template.Render([], false, "", "", ChatConversations.Tools));
        Assert.True(template.SupportsTools);
    }

    [Fact]
    public void Optional_message_fields_are_absent_unless_set()
    {
        var template = new ChatTemplate(
            "{% for m in messages %}{{ 'tool_calls' in m }},{{ m.tool_call_id is defined }},{{ m.name | default('-') }},{{ m.content }};{% endfor %}");
        ChatMessage[] messages =
        [
            ChatMessage.User("u"),
            new ChatMessage("assistant", null) { ToolCalls = ChatConversations.Json("[]") },
            ChatMessage.Tool("r", "id1", "fn"),
        ];
        Assert.Equal("False,False,-,u;True,False,-,None;False,True,fn,r;", template.Render(messages, false, "", ""));
    }

    [Fact]
    public void Extra_variables_reach_the_template_and_override()
    {
        string llama = File.ReadAllText(TestData.Path("llama.cpp/templates/meta-llama-Llama-3.1-8B-Instruct.jinja"));
        string prompt = new ChatTemplate(llama).Render([ChatMessage.User("Hi")], true, "<|begin_of_text|>", "<|eot_id|>",
            extra: new Dictionary<string, object?> { ["date_string"] = "01 Jan 2025" });
        Assert.Equal(
            "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            prompt);
    }

    [Fact]
    public void Strftime_now_in_llama_3_2_uses_the_options_clock()
    {
        string llama = File.ReadAllText(TestData.Path("llama.cpp/templates/meta-llama-Llama-3.2-3B-Instruct.jinja"));
        var options = new TemplateOptions { Clock = new FixedClock(new DateTimeOffset(2025, 2, 3, 10, 0, 0, TimeSpan.Zero)) };
        string prompt = new ChatTemplate(llama, options).Render([ChatMessage.User("Hi")], true, "", "");
        Assert.Contains("Today Date: 03 Feb 2025\n", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void A_template_raise_is_a_raised_error_with_its_line()
    {
        string gemma = File.ReadAllText(TestData.Path("llama.cpp/templates/google-gemma-2-2b-it.jinja"));
        TemplateException ex = Assert.Throws<TemplateException>(() =>
            new ChatTemplate(gemma).Render([ChatMessage.User("a"), ChatMessage.User("b")], true, "<bos>", "<eos>"));
        Assert.Equal(TemplateErrorKind.Raised, ex.Kind);
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", ex.Reason);
        Assert.Equal(1, ex.Line);
    }

    [Fact]
    public void A_broken_template_fails_at_construction()
    {
        TemplateException ex = Assert.Throws<TemplateException>(() => new ChatTemplate("{% for m in messages %}\n{{ m.content }"));
        Assert.Equal(TemplateErrorKind.Syntax, ex.Kind);
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void Template_render_accepts_json_and_dotnet_values()
    {
        using JsonDocument doc = JsonDocument.Parse("""{"role": "user", "content": "hé"}""");
        string text = Template.Parse("{{ m.role }}:{{ m.content }}:{{ n + 1 }}").Render(new Dictionary<string, object?> { ["m"] = doc.RootElement, ["n"] = 41 });
        Assert.Equal("user:hé:42", text);
    }
}
