namespace Cria.Templates.Tests;

/// <summary>
/// All 30 cases of llama.cpp's chat-template test, rendered through <see cref="ChatTemplate"/> with the
/// steps the data notes describe (system text merged into the first user turn when the template has
/// no system role; leading BOS and trailing EOS cut) and compared with <c>expected_jinja</c> exactly.
/// </summary>
public sealed class ChatTemplateCaseTests
{
    /// <summary>
    /// llama.cpp's minja engine (Feb 2025) also stripped the indentation before <c>{{</c> tags at the
    /// start of a line; Jinja2 strips it only before <c>{%</c> and <c>{#</c>. Only ChatGLM3's template
    /// ("|&gt;\n {{ message['content'] }}") is affected, so its golden needs that engine's behaviour.
    /// </summary>
    private static readonly TemplateOptions s_minja = new() { LstripVariableTags = true };

    public static TheoryData<string> CaseNames => [.. ChatTemplateCase.All.Select(c => c.Name)];

    [Fact]
    public void The_file_has_thirty_cases()
    {
        Assert.Equal(30, ChatTemplateCase.All.Count);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Renders_llama_cpp_expected_jinja(string name)
    {
        ChatTemplateCase c = ChatTemplateCase.Get(name);
        var template = new ChatTemplate(c.Template, name == "ChatGLM3" ? s_minja : null);
        if (c.ExpectedJinja is null)
        {
            // GigaChat: llama.cpp did not render it with Jinja because it needs additional_special_tokens.
            // Without them the render must fail clearly, naming the variable and the template line.
            Assert.False(c.SupportedWithJinja);
            TemplateException ex = Assert.Throws<TemplateException>(() =>
                template.Render(ChatTemplateCase.Messages, ChatTemplateCase.AddGenerationPrompt, c.BosToken, c.EosToken));
            Assert.Contains("'additional_special_tokens' is undefined", ex.Message, StringComparison.Ordinal);
            Assert.True(ex.Line > 0);
            return;
        }
        string actual = template.Render(ChatTemplateCase.Messages, ChatTemplateCase.AddGenerationPrompt, c.BosToken, c.EosToken);
        TextDiff.AssertSame(c.ExpectedJinja, actual, name);
    }

    [Fact]
    public void System_role_probe_matches_llama_cpp()
    {
        // The cases whose expected output starts the first user turn with the system text.
        string[] merged =
        [
            "mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)",
            "google/gemma-7b-it",
            "OrionStarAI/Orion-14B-Chat",
            "Phi-3-mini",
            "Phi-3-medium",
        ];
        foreach (ChatTemplateCase c in ChatTemplateCase.All.Where(c => c.ExpectedJinja is not null))
        {
            Assert.True(merged.Contains(c.Name) != new ChatTemplate(c.Template).SupportsSystemRole, c.Name);
        }
    }

    [Fact]
    public void ChatGLM3_with_default_options_renders_as_Jinja2_does()
    {
        // Jinja2 3.1.6 with Hugging Face's settings keeps the space before {{ message['content'] }};
        // later llama.cpp versions (with their own Jinja engine) changed this case's expectation to the same text.
        ChatTemplateCase c = ChatTemplateCase.Get("ChatGLM3");
        string actual = new ChatTemplate(c.Template).Render(ChatTemplateCase.Messages, true, c.BosToken, c.EosToken);
        TextDiff.AssertSame(
            "[gMASK]sop<|system|>\n You are a helpful assistant<|user|>\n Hello<|assistant|>\n Hi there<|user|>\n Who are you" +
            "<|assistant|>\n    I am an assistant   <|user|>\n Another question<|assistant|>",
            actual,
            "ChatGLM3 (Jinja2)");
    }

    [Fact]
    public void GigaChat_renders_when_given_its_special_tokens()
    {
        // Not a golden (llama.cpp has none): the template works once the variable exists. Probes run
        // without extra variables, so its system-role probe fails and the system text is merged.
        ChatTemplateCase c = ChatTemplateCase.Get("ai-sage/GigaChat-20B-A3B-instruct");
        var extra = new Dictionary<string, object?> { ["additional_special_tokens"] = new[] { "<|role_sep|>", "<|message_sep|>", "[", "]" } };
        var template = new ChatTemplate(c.Template);
        string actual = template.Render(ChatTemplateCase.Messages, true, "<s>", "", extra: extra);
        Assert.False(template.SupportsSystemRole);
        Assert.StartsWith("user<|role_sep|>You are a helpful assistant\nHello<|message_sep|>available functions<|role_sep|>[]<|message_sep|>", actual, StringComparison.Ordinal);
        Assert.EndsWith("user<|role_sep|>Another question<|message_sep|>available functions<|role_sep|>[]<|message_sep|>assistant<|role_sep|>", actual, StringComparison.Ordinal);
    }
}
