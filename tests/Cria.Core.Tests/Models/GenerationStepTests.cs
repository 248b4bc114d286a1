using Cria.Core.Inference;
using Cria.Core.Sampling;

namespace Cria.Core.Tests.Models;

/// <summary>Per-token generation steps and their log-probabilities.</summary>
public sealed class GenerationStepTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    [Fact]
    public void Logprobs_equal_a_float64_log_softmax_and_the_top_list_is_the_true_top()
    {
        var rng = new Random(7);
        float[] logits = new float[1000];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)(rng.NextDouble() * 20 - 10);
        }
        logits[321] = logits[654]; // a tie: the lower id comes first
        double max = logits.Max();
        double logZ = max + Math.Log(logits.Sum(x => Math.Exp(x - max)));
        TokenLogprob lp = TokenLogprob.Compute(logits, 42, 5);
        Assert.Equal(logits[42] - logZ, lp.Logprob, 4);
        int[] expectedTop = [.. Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(5)];
        Assert.Equal(expectedTop, lp.Top.Select(t => t.Token));
        foreach (TokenAlternative alt in lp.Top)
        {
            Assert.Equal(logits[alt.Token] - logZ, alt.Logprob, 4);
        }
        Assert.Empty(TokenLogprob.Compute(logits, 0, 0).Top);
        Assert.Equal(3, TokenLogprob.Compute(new float[] { 1, 2, 3 }, 0, 20).Top.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenLogprob.Compute(logits, 0, 21));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenLogprob.Compute(logits, 1000, 1));
    }

    [Fact]
    public void Steps_carry_the_same_text_as_Generate_one_per_token_with_logprobs()
    {
        var model = fixture.Model;
        var gen = new Generator(model.Model, model.Tokenizer);
        int[] prompt = model.Tokenizer.Encode("Lily saw a", addSpecial: true);
        var plain = new GenerationOptions { MaxTokens = 40, Sampling = SamplingOptions.Greedy };
        string text = string.Concat(gen.Generate(model.Model.CreateContext(128), prompt, plain, new GenerationStats()));

        var stats = new GenerationStats();
        List<GenerationStep> steps = [.. gen.GenerateSteps(model.Model.CreateContext(128), prompt, plain with { Logprobs = 2 }, stats)];
        Assert.Equal(text, string.Concat(steps.Select(s => s.Text)));
        List<GenerationStep> tokens = [.. steps.Where(s => s.Token >= 0)];
        Assert.Equal(stats.GeneratedTokens, tokens.Count);
        Assert.All(tokens, s =>
        {
            Assert.NotNull(s.Logprob);
            Assert.Equal(s.Token, s.Logprob.Token);
            Assert.Equal(s.Token, s.Logprob.Top[0].Token); // greedy picks the most likely token
        });
        Assert.Throws<ArgumentException>(() => gen.GenerateSteps(model.Model.CreateContext(128), prompt, plain with { Logprobs = 21 }, new GenerationStats()));
    }

    [Fact]
    public void A_context_reuses_the_prefix_it_holds_and_gives_the_same_text_as_a_fresh_one()
    {
        var model = fixture.Model;
        var gen = new Generator(model.Model, model.Tokenizer);
        var options = new GenerationOptions { MaxTokens = 20, Sampling = SamplingOptions.Greedy };
        int[] first = model.Tokenizer.Encode("Once upon a time there was a cat", addSpecial: true);
        int[] second = model.Tokenizer.Encode("Once upon a time there was a dog", addSpecial: true);
        var ctx = model.Model.CreateContext(256);
        _ = string.Concat(gen.Generate(ctx, first, options, new GenerationStats()));

        int common = first.Zip(second).TakeWhile(p => p.First == p.Second).Count();
        Assert.True(common > 3);
        Assert.Equal(common, Generator.ReusePrefix(ctx, second));
        Assert.Equal(second[..common], ctx.History);
        string reused = string.Concat(gen.Generate(ctx, second, options, new GenerationStats()));
        string fresh = string.Concat(gen.Generate(model.Model.CreateContext(256), second, options, new GenerationStats()));
        Assert.Equal(fresh, reused);

        // The same prompt again: everything but the last token is reused.
        Assert.Equal(second.Length - 1, Generator.ReusePrefix(ctx, second));
    }
}
