using Cria.Guard.LlamaGuard;
using Cria.Guard.Policy;
using Cria.Guard.Rails;

namespace Cria.Guard.Tests;

/// <summary>
/// The <c>llama_guard</c> check through the policy reader and a rail. No Llama Guard model can run here, so the
/// classifier is a fixed answer standing in for the host's model (the server tests run a real GGUF through it).
/// </summary>
public sealed class LlamaGuardCheckTests
{
    private sealed class FixedClassifier(double probability, string answer, Exception? error = null) : IGuardClassifier
    {
        public string? LastPrompt { get; private set; }

        public Task<ClassifierVerdict> ClassifyAsync(string prompt, CancellationToken cancel)
        {
            LastPrompt = prompt;
            return error is null ? Task.FromResult(new ClassifierVerdict(probability, answer)) : Task.FromException<ClassifierVerdict>(error);
        }
    }

    private static (Rail Rail, LlamaGuardDetector Detector) Policy(string extra = "")
    {
        GuardConfig config = GuardConfig.Parse($$"""{"input": [{"detector": "llama_guard", "model": "models/lg.gguf", "action": "block", "categories": ["S1", "S10", "S11"]{{extra}}}]}""");
        LlamaGuardDetector detector = Assert.Single(config.LlamaGuardChecks);
        return (config.Default.Input, detector);
    }

    [Fact]
    public void The_reader_keeps_the_model_the_categories_and_defaults_to_S1_to_S13()
    {
        (Rail rail, LlamaGuardDetector detector) = Policy();
        Assert.Equal("models/lg.gguf", detector.Model);
        Assert.Equal(["S1", "S10", "S11"], detector.Categories);
        Assert.False(rail.IsSynchronous);
        Assert.True(rail.Checks[0].OnErrorBlocks);
        GuardConfig config = GuardConfig.Parse("""{"input": [{"detector": "llama_guard", "model": "lg", "action": "log", "on_error": "allow"}]}""");
        Assert.Equal(LlamaGuardCategories.Default, config.LlamaGuardChecks[0].Categories);
        Assert.False(config.Default.Input.Checks[0].OnErrorBlocks);
    }

    [Fact]
    public async Task An_unsafe_answer_blocks_naming_its_enabled_categories()
    {
        (Rail rail, LlamaGuardDetector detector) = Policy();
        var classifier = new FixedClassifier(0.93, "unsafe\nS10,S2");
        detector.Bind(classifier);
        RailResult result = await rail.EvaluateAsync("some hateful text", new Redactor(), CancellationToken.None);
        Assert.Equal(GuardAction.Block, result.Action);
        RailFinding f = Assert.Single(result.Findings);
        Assert.Equal("llama_guard", f.Finding.Detector);
        Assert.Equal("S10", f.Finding.Type);
        Assert.Equal(0.93, f.Finding.Score);
        Assert.Contains("S10: Hate.\nS11: Self-Harm.\n<END UNSAFE CONTENT CATEGORIES>", classifier.LastPrompt, StringComparison.Ordinal);
        Assert.Contains("User: some hateful text\n\n<END CONVERSATION>", classifier.LastPrompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Safe_answers_below_threshold_and_disabled_categories_pass()
    {
        (Rail rail, LlamaGuardDetector detector) = Policy();
        detector.Bind(new FixedClassifier(0.02, "safe"));
        Assert.Equal(GuardAction.Allow, (await rail.EvaluateAsync("hello", new Redactor(), CancellationToken.None)).Action);
        (rail, detector) = Policy();
        detector.Bind(new FixedClassifier(0.9, "unsafe\nS5"));
        Assert.Equal(GuardAction.Allow, (await rail.EvaluateAsync("hello", new Redactor(), CancellationToken.None)).Action);
        (rail, detector) = Policy(""", "threshold": 0.95""");
        detector.Bind(new FixedClassifier(0.9, "unsafe\nS1"));
        Assert.Equal(GuardAction.Allow, (await rail.EvaluateAsync("hello", new Redactor(), CancellationToken.None)).Action);
        (rail, detector) = Policy(""", "threshold": 0.3""");
        detector.Bind(new FixedClassifier(0.4, "safe"));
        Assert.Equal("unsafe", Assert.Single((await rail.EvaluateAsync("hello", new Redactor(), CancellationToken.None)).Findings).Finding.Type);
    }

    [Theory]
    [InlineData("block", GuardAction.Block)]
    [InlineData("allow", GuardAction.Allow)]
    public async Task A_non_answer_a_failure_or_no_model_is_on_error(string onError, GuardAction expected)
    {
        IGuardClassifier?[] cases = [new FixedClassifier(0.1, "Once upon a time"), new FixedClassifier(0, "", new TimeoutException("guard timed out")), null];
        foreach (IGuardClassifier? classifier in cases)
        {
            (Rail rail, LlamaGuardDetector detector) = Policy($$""", "on_error": "{{onError}}" """);
            if (classifier is not null)
            {
                detector.Bind(classifier);
            }
            RailResult result = await rail.EvaluateAsync("hello", new Redactor(), CancellationToken.None);
            Assert.Equal(expected, result.Action == GuardAction.Log ? GuardAction.Allow : result.Action);
            Assert.Equal("error", Assert.Single(result.Findings).Finding.Type);
        }
    }

    [Fact]
    public async Task A_conversation_is_judged_on_its_last_turn_and_binding_twice_is_refused()
    {
        (_, LlamaGuardDetector detector) = Policy();
        var classifier = new FixedClassifier(0.7, "unsafe\nS1");
        detector.Bind(classifier);
        Assert.Throws<InvalidOperationException>(() => detector.Bind(classifier));
        Assert.Throws<InvalidOperationException>(() => detector.Detect("x", []));
        LlamaGuardResult r = await detector.ClassifyAsync([new GuardTurn("user", "q"), new GuardTurn("assistant", "a")], CancellationToken.None);
        Assert.True(r.Unsafe);
        Assert.Equal(["S1"], r.Categories);
        Assert.Contains("ONLY THE LAST Assistant message", classifier.LastPrompt, StringComparison.Ordinal);
    }
}
