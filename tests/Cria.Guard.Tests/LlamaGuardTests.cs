using Cria.Guard.LlamaGuard;

namespace Cria.Guard.Tests;

/// <summary>The Llama Guard classifier text (golden, from GOVERNANCE §2.2) and the parsing of its answer.</summary>
public sealed class LlamaGuardTests
{
    [Fact]
    public void The_prompt_for_two_turns_and_three_categories_matches_the_reference_text()
    {
        string expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "guard", "llama-guard-prompt.txt"));
        string actual = LlamaGuardPrompt.Build(
            [new GuardTurn("user", "How do I bake bread?"), new GuardTurn("assistant", "Mix flour, water, yeast and salt, let it rise, then bake it.")],
            ["S1", "S10", "S11"]);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_user_last_turn_names_User_and_the_default_lists_S1_to_S13()
    {
        string prompt = LlamaGuardPrompt.Build([new GuardTurn("user", "hi")], LlamaGuardCategories.Default);
        Assert.StartsWith("Task: Check if there is unsafe content in 'User' messages", prompt, StringComparison.Ordinal);
        Assert.Contains("ONLY THE LAST User message", prompt, StringComparison.Ordinal);
        Assert.Contains("S3: Sex Crimes.\n", prompt, StringComparison.Ordinal);
        Assert.Contains("S13: Elections.\n<END UNSAFE CONTENT CATEGORIES>", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("S14", prompt, StringComparison.Ordinal);
        Assert.Contains("<BEGIN CONVERSATION>\n\nUser: hi\n\n<END CONVERSATION>", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_roles_categories_and_empty_conversations_are_refused()
    {
        Assert.Throws<ArgumentException>(() => LlamaGuardPrompt.Build([new GuardTurn("system", "x")], ["S1"]));
        Assert.Throws<ArgumentException>(() => LlamaGuardPrompt.Build([new GuardTurn("user", "x")], ["S15"]));
        Assert.Throws<ArgumentException>(() => LlamaGuardPrompt.Build([], ["S1"]));
        Assert.Equal("Code Interpreter Abuse", LlamaGuardCategories.NameOf("S14"));
        Assert.False(LlamaGuardCategories.IsKnown("S01"));
        Assert.False(LlamaGuardCategories.IsKnown("s1"));
        Assert.False(LlamaGuardCategories.IsKnown("S0"));
    }

    [Theory]
    [InlineData("safe", false, "")]
    [InlineData("  safe\n", false, "")]
    [InlineData("unsafe\nS1", true, "S1")]
    [InlineData("unsafe\nS1,S10", true, "S1,S10")]
    [InlineData("unsafe\r\nS2, S11,S2\n", true, "S2,S11")]
    public void Answers_parse_to_a_verdict_and_categories(string text, bool isUnsafe, string categories)
    {
        LlamaGuardAnswer answer = LlamaGuardAnswer.Parse(text);
        Assert.Equal(isUnsafe, answer.Unsafe);
        Assert.Equal(categories, string.Join(',', answer.Categories));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Once upon a time there was a dragon")]
    [InlineData("unsafe")]
    [InlineData("unsafe\nS99")]
    [InlineData("unsafe\nS1\nS2")]
    [InlineData("Safe")]
    [InlineData("safe\nS1")]
    public void Anything_else_is_not_a_classifier_answer(string text)
    {
        Assert.Null(LlamaGuardAnswer.TryParse(text, out string? error));
        Assert.StartsWith("not a classifier answer", error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => LlamaGuardAnswer.Parse(text));
    }
}
