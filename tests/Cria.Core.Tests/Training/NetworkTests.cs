using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Core.Synthetic;
using Cria.Core.Training;

namespace Cria.Core.Tests.Training;

/// <summary>A tiny synthetic Q4_0 model (llama-spm vocabulary) written once for the training tests.</summary>
public sealed class TinyQ4Fixture : IDisposable
{
    public TinyQ4Fixture()
    {
        Dir = Directory.CreateTempSubdirectory("cria-train-").FullName;
        Path = System.IO.Path.Combine(Dir, "tiny-q4_0.gguf");
        SyntheticModel.Write("tiny", "q4_0", 7, Path, TestData.Path("llama.cpp/vocab/ggml-vocab-llama-spm.gguf"));
    }

    public string Dir { get; }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary>
/// The training network against the inference engine and a float64 reference: the same logits as
/// <see cref="LlamaModel"/> (B = 0 and trained B alike, F32 and Q4_0 bases), packed examples that
/// do not see each other, and the whole model's LoRA gradient against finite differences.
/// </summary>
public sealed class NetworkTests(TinyQ4Fixture tiny) : IClassFixture<TinyQ4Fixture>
{
    private static readonly string s_stories = RepoRoot.Path("models/stories260K.gguf");

    private static float MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    private static void RandomB(LoraParameters lora, int seed, double scale)
    {
        var rng = new Random(seed);
        foreach (LoraParameter p in lora.All)
        {
            for (int i = 0; i < p.BT.Length; i++)
            {
                p.BT[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
            }
        }
    }

    private static float[] InferenceLogits(string path, int[] tokens, LoraAdapter? adapter)
    {
        using LocalModel lm = LocalModel.Load(path);
        InferenceContext ctx = lm.Model.CreateContext(tokens.Length, cacheType: KvCacheType.F32);
        if (adapter is not null)
        {
            ctx.SetAdapters([new ActiveAdapter(adapter)]);
        }
        var logits = new float[tokens.Length * lm.Model.VocabSize];
        lm.Model.Forward(ctx, tokens, logits);
        return logits;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_forward_gives_the_inference_logits_on_stories260K(bool trainedB)
    {
        using BaseModel bm = BaseModel.Load(s_stories);
        int[] tokens = bm.Tokenizer.Encode("Once upon a time, there was a little dog named Max. He liked to run.", addSpecial: true);
        LoraParameters lora = LoraParameters.Create(bm.Config, 4, 16, Enum.GetValues<LoraTarget>(), 1);
        if (trainedB)
        {
            RandomB(lora, 2, 0.05);
        }
        var net = new LoraNetwork(bm.Model, lora, tokens.Length, recompute: true);
        var got = new float[tokens.Length * bm.Model.VocabSize];
        net.Logits(TrainingWindow.FromTokens(tokens), got);
        float[] want = InferenceLogits(s_stories, tokens, trainedB ? lora.ToAdapter("t", bm.Config.Architecture) : null);
        Assert.True(MaxDiff(want, got) <= 1e-4f, $"max difference {MaxDiff(want, got)}");
    }

    [Fact]
    public void Training_forward_gives_the_inference_logits_on_a_Q4_0_model()
    {
        using BaseModel bm = BaseModel.Load(tiny.Path);
        int[] tokens = bm.Tokenizer.Encode("The quick brown fox jumps over the lazy dog, twice.", addSpecial: true);
        LoraParameters lora = LoraParameters.Create(bm.Config, 8, 16, Enum.GetValues<LoraTarget>(), 3);
        var net = new LoraNetwork(bm.Model, lora, tokens.Length, recompute: false);
        var got = new float[tokens.Length * bm.Model.VocabSize];
        net.Logits(TrainingWindow.FromTokens(tokens), got);
        // The inference engine repacks Q4_0 into tiles; training reads the file's rows: same products.
        float[] want = InferenceLogits(tiny.Path, tokens, null);
        Assert.True(MaxDiff(want, got) <= 1e-4f, $"max difference {MaxDiff(want, got)}");
    }

    [Fact]
    public void A_packed_example_gets_the_logits_it_gets_alone()
    {
        using BaseModel bm = BaseModel.Load(s_stories);
        int[] first = bm.Tokenizer.Encode("Lily saw a big red ball.", addSpecial: true);
        int[] second = bm.Tokenizer.Encode("Tom was sad.", addSpecial: true);
        int[] tokens = [.. first, .. second];
        int[] seg = [.. first.Select(_ => 0), .. second.Select(_ => first.Length)];
        var packed = new TrainingWindow(tokens, new int[tokens.Length].Select(_ => -1).ToArray(), seg);
        LoraParameters lora = LoraParameters.Create(bm.Config, 2, 4, [LoraTarget.Q, LoraTarget.V], 5);
        RandomB(lora, 6, 0.1);
        var net = new LoraNetwork(bm.Model, lora, tokens.Length, recompute: true);
        int vocab = bm.Model.VocabSize;
        var all = new float[tokens.Length * vocab];
        net.Logits(packed, all);
        var alone = new float[second.Length * vocab];
        net.Logits(TrainingWindow.FromTokens(second), alone);
        float[] tail = all.AsSpan(first.Length * vocab).ToArray();
        Assert.True(MaxDiff(alone, tail) <= 1e-5f, $"max difference {MaxDiff(alone, tail)}");
    }

    [Fact]
    public void Whole_model_LoRA_gradient_matches_finite_differences()
    {
        using BaseModel bm = BaseModel.Load(s_stories);
        int[] a = bm.Tokenizer.Encode("One day, a cat sat.", addSpecial: true);
        int[] b = bm.Tokenizer.Encode("The sun was hot.", addSpecial: true);
        int[] tokens = [.. a, .. b];
        int[] seg = [.. a.Select(_ => 0), .. b.Select(_ => a.Length)];
        var targets = new int[tokens.Length];
        for (int t = 0; t < tokens.Length; t++)
        {
            targets[t] = t + 1 < tokens.Length && seg[t + 1] == seg[t] && t != 2 ? tokens[t + 1] : -1;
        }
        var window = new TrainingWindow(tokens, targets, seg);
        LoraParameters lora = LoraParameters.Create(bm.Config, 2, 8, Enum.GetValues<LoraTarget>(), 11);
        RandomB(lora, 12, 0.05);
        var reference = new ReferenceLoraModel(bm.Model, lora);

        var net = new LoraNetwork(bm.Model, lora, tokens.Length, recompute: true);
        lora.ZeroGradients();
        double loss = net.Forward(window, 1f / window.TrainableCount, 0, 0) / window.TrainableCount;
        net.Backward();
        double refLoss = reference.Loss(window);
        Assert.Equal(refLoss, loss, 1e-4 * refLoss);

        var rng = new Random(13);
        int checkedCount = 0;
        foreach (LoraParameter p in lora.All.Where((_, i) => i % 4 == 1))
        {
            double[] ra = reference.A[(p.Layer, p.Target)];
            double[] rb = reference.B[(p.Layer, p.Target)];
            int ia = rng.Next(ra.Length);
            int ib = rng.Next(rb.Length);
            double numA = GradCheck.Numeric(() => reference.Loss(window), ra, ia);
            double numB = GradCheck.Numeric(() => reference.Loss(window), rb, ib);
            // B [out, rank] element ib is Bᵀ [rank, out] element (k, o).
            (int o, int k) = (ib / p.Rank, ib % p.Rank);
            double anaB = p.GradBT[k * p.Out + o];
            Assert.True(Math.Abs(numA - p.GradA[ia]) <= 2e-3 * Math.Abs(numA) + 2e-6, $"{p.Layer}/{p.Target} dA[{ia}]: {numA} vs {p.GradA[ia]}");
            Assert.True(Math.Abs(numB - anaB) <= 2e-3 * Math.Abs(numB) + 2e-6, $"{p.Layer}/{p.Target} dB[{ib}]: {numB} vs {anaB}");
            checkedCount++;
        }
        Assert.True(checkedCount >= 8);
    }

    [Fact]
    public void Recomputed_and_kept_activations_give_identical_gradients()
    {
        using BaseModel bm = BaseModel.Load(tiny.Path);
        int[] tokens = bm.Tokenizer.Encode("A small test of gradient checkpointing with dropout on.", addSpecial: true);
        TrainingWindow window = TrainingWindow.FromTokens(tokens);
        float[][] grads = new float[2][];
        foreach (bool recompute in (bool[])[true, false])
        {
            LoraParameters lora = LoraParameters.Create(bm.Config, 4, 8, Enum.GetValues<LoraTarget>(), 21);
            RandomB(lora, 22, 0.02);
            var net = new LoraNetwork(bm.Model, lora, tokens.Length, recompute);
            net.Forward(window, 1f / window.TrainableCount, 0.1f, 99);
            net.Backward();
            grads[recompute ? 0 : 1] = [.. lora.All.SelectMany(p => p.GradA.Concat(p.GradBT))];
        }
        Assert.Equal(grads[0], grads[1]);
        Assert.Contains(grads[0], g => g != 0);
    }
}
