using System.Diagnostics;
using System.Text;

using Cria.Guard.Detectors;
using Cria.Guard.Policy;
using Cria.Guard.Rails;

namespace Cria.Guard.Tests;

/// <summary>Hostile policies and texts: a decision or a clear error in bounded time, never a hang or a crash.</summary>
public sealed class HostileInputTests
{
    private static readonly Rail s_all = GuardConfig.Parse("""
        {"input": [{"detector": "pii", "action": "redact"}, {"detector": "secrets", "action": "redact"}, {"detector": "injection", "action": "block"},
                   {"detector": "keywords", "action": "log", "words": ["alpha", "beta"]}, {"detector": "regex", "action": "log", "pattern": "(a|aa)*b"}]}
        """).Default.Input;

    [Theory]
    [InlineData("a")]
    [InlineData("\u200B")]
    [InlineData("\uDB40\uDC41")]
    [InlineData("1")]
    [InlineData("@")]
    [InlineData("=")]
    [InlineData("-")]
    [InlineData("A")]
    [InlineData(":")]
    [InlineData("\u202E")]
    public void A_megabyte_of_one_character_is_decided_quickly(string unit)
    {
        string text = new StringBuilder().Insert(0, unit, 1_000_000 / unit.Length).ToString();
        var clock = Stopwatch.StartNew();
        RailResult r = s_all.Evaluate(text, new Redactor());
        clock.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{clock.Elapsed} for {unit}");
        Assert.NotNull(r.Text);
    }

    [Fact]
    public void Catastrophic_backtracking_patterns_run_in_linear_time()
    {
        var detector = new RegexDetector(["(a+)+$", "(a|a)*c", "(x+x+)+y", @"^(\w+\s?)+$"]);
        string text = new string('a', 100_000) + "!";
        var clock = Stopwatch.StartNew();
        var findings = new List<Finding>();
        detector.Detect(text, findings);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
    }

    [Fact]
    public void A_huge_or_counting_pattern_is_refused_or_bounded()
    {
        Assert.Throws<GuardPolicyException>(() => GuardConfig.Parse("{\"input\": [{\"detector\": \"regex\", \"action\": \"block\", \"pattern\": \"" + new string('a', 5000) + "\"}]}"));
        var clock = Stopwatch.StartNew();
        try
        {
            var detector = new RegexDetector(["(a{1,1000}){1,1000}b", ".{500}x.{500}"]);
            detector.Detect(new string('a', 20_000), []);
        }
        catch (ArgumentException)
        {
            // refused at construction: also fine
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
    }

    [Fact]
    public void A_long_keyword_list_is_one_pass()
    {
        var words = Enumerable.Range(0, 50_000).Select(i => $"word{i:D6}").ToList();
        var detector = new KeywordsDetector(words);
        var findings = new List<Finding>();
        detector.Detect(string.Concat(Enumerable.Repeat("some text word049999 and more ", 1000)), findings);
        Assert.Equal(1000, findings.Count);
    }

    [Fact]
    public void Invisible_characters_everywhere_are_one_decision()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 10_000; i++)
        {
            sb.Append("ab\u200B\u200C\u202E\uDB40\uDC20\uFE0F");
        }
        RailResult r = s_all.Evaluate(sb.ToString(), new Redactor());
        Assert.Equal(GuardAction.Block, r.Action);
    }
}
