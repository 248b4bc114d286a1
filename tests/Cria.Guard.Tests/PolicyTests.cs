using Cria.Guard.Policy;

namespace Cria.Guard.Tests;

/// <summary>The policy file: the issue's flat shape, named policies per model and key, and errors that name the JSON path.</summary>
public sealed class PolicyTests
{
    [Fact]
    public void The_flat_shape_from_the_issue_is_accepted()
    {
        GuardConfig config = GuardConfig.Parse("""{ "input": [ {"detector": "pii", "action": "redact"}, {"detector": "injection", "action": "block"} ], "output": [ {"detector": "pii", "action": "block"} ] }""");
        GuardPolicy p = config.Default;
        Assert.Equal(2, p.Input.Checks.Count);
        Assert.Equal(GuardAction.Redact, p.Input.Checks[0].Action);
        Assert.Equal("injection", p.Input.Checks[1].Detector.Name);
        Assert.Single(p.Output.Checks);
        Assert.True(p.ToolCalls.IsEmpty);
    }

    [Fact]
    public void Keys_win_over_models_which_win_over_the_default()
    {
        GuardConfig config = GuardConfig.Parse("""
            {
              // comments and trailing commas are allowed
              "policies": { "strict": { "input": [ {"detector": "secrets", "action": "block"} ] } },
              "default": { "input": [ {"detector": "pii", "action": "log"} ] },
              "models": { "tiny": "strict", "other": { "output": [ {"detector": "keywords", "action": "block", "words": ["dragon"]} ] } },
              "keys": { "ci-bot": { "input": [] }, },
            }
            """);
        Assert.Equal("pii", config.Resolve("x", null).Input.Checks[0].Detector.Name);
        Assert.Equal("secrets", config.Resolve("tiny", null).Input.Checks[0].Detector.Name);
        Assert.Equal("keywords", config.Resolve("other", "someone").Output.Checks[0].Detector.Name);
        Assert.True(config.Resolve("tiny", "ci-bot").IsEmpty);
    }

    [Theory]
    [InlineData("""{"input": [{"detector": "pii", "action": "redact"}, {"detector": "pi", "action": "block"}]}""", "$.input[1].detector: unknown detector \"pi\"")]
    [InlineData("""{"input": [{"detector": "pii", "action": "delete"}]}""", "$.input[0].action: unknown action \"delete\"")]
    [InlineData("""{"input": [{"detector": "pii", "action": "log", "colour": 1}]}""", "$.input[0].colour: unknown key \"colour\"")]
    [InlineData("""{"inputs": []}""", "$.inputs: unknown key \"inputs\"")]
    [InlineData("""{"output": [{"detector": "pii", "action": "log", "types": ["email", "mail"]}]}""", "$.output[0].types[1]: unknown pii type \"mail\"")]
    [InlineData("""{"input": [{"detector": "pii", "action": "log", "threshold": 2}]}""", "$.input[0].threshold:")]
    [InlineData("""{"input": [{"detector": "regex", "action": "block", "patterns": ["ok", "(?<=a)b"]}]}""", "$.input[0].patterns[1]: the pattern needs backtracking")]
    [InlineData("""{"input": [{"detector": "regex", "action": "block", "pattern": "(unclosed"}]}""", "$.input[0].pattern: the pattern is not a valid regular expression")]
    [InlineData("""{"input": [{"detector": "regex", "action": "block", "pattern": "a*"}]}""", "$.input[0].pattern: the pattern matches the empty string")]
    [InlineData("""{"input": [{"detector": "keywords", "action": "block"}]}""", "$.input[0].words: a keywords check needs")]
    [InlineData("""{"models": {"my model": "nope"}}""", "$.models[\"my model\"]: unknown policy \"nope\"")]
    [InlineData("""{"input": [{"detector": "llama_guard", "action": "block"}]}""", "$.input[0].model: a llama_guard check needs \"model\"")]
    [InlineData("""{"input": [{"detector": "llama_guard", "model": "lg", "action": "block", "categories": ["S1", "S15"]}]}""", "$.input[0].categories[1]: unknown Llama Guard category \"S15\"")]
    [InlineData("""{"input": [{"detector": "llama_guard", "model": "lg", "action": "block", "categories": ["S1", "S1"]}]}""", "$.input[0].categories[1]: category \"S1\" is listed twice")]
    [InlineData("""{"input": [{"detector": "llama_guard", "model": "lg", "action": "block", "categories": []}]}""", "$.input[0].categories: the list of categories is empty")]
    [InlineData("""{"input": [{"detector": "llama_guard", "model": "lg", "action": "block", "threshold": 1.5}]}""", "$.input[0].threshold: threshold is a number from 0 to 1")]
    [InlineData("""{"input": [{"detector": "llama_guard", "model": "lg", "action": "block", "on_error": "ignore"}]}""", "$.input[0].on_error: on_error is \"block\"")]
    [InlineData("""{"input": [{"detector": "llama_guard", "model": "lg", "action": "block", "words": ["x"]}]}""", "$.input[0].words: unknown key \"words\"")]
    [InlineData("""{"input": [{"detector": "prompt_guard", "action": "block"}]}""", "$.input[0].detector: unknown detector \"prompt_guard\"")]
    [InlineData("""{"input": {"detector": "pii"}}""", "$.input: \"input\" must be an array")]
    [InlineData("""{"input": [ }""", "$: not valid JSON")]
    [InlineData("""[]""", "$: the policy must be a JSON object")]
    public void Errors_name_the_json_path(string json, string expected)
    {
        GuardPolicyException e = Assert.Throws<GuardPolicyException>(() => GuardConfig.Parse(json));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_an_error_naming_it()
    {
        GuardPolicyException e = Assert.Throws<GuardPolicyException>(() => GuardConfig.Load("/nonexistent/guard.json"));
        Assert.Contains("/nonexistent/guard.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_is_refused_not_a_crash()
    {
        string json = "{\"input\": [" + new string('[', 5000) + new string(']', 5000) + "]}";
        Assert.Throws<GuardPolicyException>(() => GuardConfig.Parse(json));
    }
}
