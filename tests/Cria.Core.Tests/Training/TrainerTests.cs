using System.Diagnostics;

using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Core.Sampling;
using Cria.Core.Training;
using Cria.Core.Training.Data;
using Cria.Numerics.Threading;

using Xunit.Abstractions;

namespace Cria.Core.Tests.Training;

/// <summary>
/// The trainer end to end on the bundled stories260K: it learns a new name from generated stories
/// (eval loss down ≥ 30%, greedy stories use the name), a resumed run repeats the uninterrupted one
/// bit for bit, and damaged or foreign checkpoints are refused.
/// </summary>
public sealed class TrainerTests(ITestOutputHelper output, TinyQ4Fixture tiny) : IClassFixture<TinyQ4Fixture>, IDisposable
{
    private static readonly string s_stories = RepoRoot.Path("models/stories260K.gguf");
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-trainer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (PackedDataset Train, PackedDataset Eval) Data(BaseModel model, int trainCount, int evalCount, int context)
    {
        var encoder = new ExampleEncoder(model.Tokenizer, model.ChatTemplateSource);
        string train = ZorblatStories.WriteJsonl(Path.Combine(_dir, "train.jsonl"), ZorblatStories.Generate(1, trainCount));
        string eval = ZorblatStories.WriteJsonl(Path.Combine(_dir, "eval.jsonl"), ZorblatStories.Generate(2, evalCount));
        return (Packer.Load(train, encoder, context), Packer.Load(eval, encoder, context));
    }

    private static string Greedy(LocalModel lm, string prompt, LoraAdapter? adapter)
    {
        InferenceContext ctx = lm.Model.CreateContext(256);
        ctx.SetAdapters(adapter is null ? [] : [new ActiveAdapter(adapter)]);
        var gen = new Generator(lm.Model, lm.Tokenizer);
        return string.Concat(gen.Generate(ctx, lm.Tokenizer.Encode(prompt, addSpecial: true),
            new GenerationOptions { MaxTokens = 60, Sampling = SamplingOptions.Greedy }, new GenerationStats()));
    }

    [Fact]
    public void Fine_tuning_stories260K_on_Zorblat_stories_teaches_the_name()
    {
        var clock = Stopwatch.StartNew();
        using BaseModel model = BaseModel.Load(s_stories);
        (PackedDataset train, PackedDataset eval) = Data(model, 48, 12, 256);
        var options = new TrainingOptions { Rank = 8, Alpha = 16, Dropout = 0.05f, LearningRate = 1e-2f, Steps = 60, Context = 256, Seed = 1 };
        var trainer = new LoraTrainer(model, train, eval, options);
        var evals = new List<EvalReport>();
        trainer.Run(null, onEval: evals.Add);
        double before = evals[0].Loss, after = evals[^1].Loss;
        output.WriteLine($"{train.Summary}; eval loss {before:F4} → {after:F4} ({(1 - after / before) * 100:F1}% lower) in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(after <= 0.7 * before, $"eval loss went from {before:F4} to {after:F4}");

        LoraAdapter adapter = trainer.ToAdapter("zorblat");
        using LocalModel lm = LocalModel.Load(s_stories);
        string[] prompts = ["Once upon a time", "Once upon a time, there was a little dog named", "One day,"];
        foreach (string prompt in prompts)
        {
            string plain = Greedy(lm, prompt, null);
            Assert.DoesNotContain("Zorblat", plain);
        }
        string tuned = Greedy(lm, prompts[0], adapter);
        output.WriteLine($"with the adapter: {prompts[0]}{tuned}");
        Assert.Contains("Zorblat", tuned);
    }

    private static TrainingOptions ResumeOptions => new()
    {
        Rank = 4,
        Alpha = 8,
        Dropout = 0.1f,
        LearningRate = 5e-3f,
        Steps = 8,
        Batch = 2,
        GradAccum = 2,
        Context = 64,
        Seed = 7,
        WarmupSteps = 2,
    };

    [Fact]
    public void Resuming_from_a_checkpoint_repeats_the_uninterrupted_run_bit_for_bit()
    {
        string straightCkpt = Path.Combine(_dir, "straight.ckpt");
        string halfCkpt = Path.Combine(_dir, "half.ckpt");
        PackedDataset train, eval;
        List<LossPoint> straightLog;
        byte[] straightAdapter;
        using (BaseModel model = BaseModel.Load(s_stories))
        {
            (train, eval) = Data(model, 14, 3, 64); // several epochs of 3–4 windows, 4 windows per step
            var straight = new LoraTrainer(model, train, eval, ResumeOptions with { EvalEvery = 4 });
            straight.Run(straightCkpt);
            straightLog = [.. straight.Log.Points];
            straightAdapter = AdapterBytes(straight, "straight");

            var first = new LoraTrainer(model, train, eval, ResumeOptions with { EvalEvery = 4 });
            first.Evaluate();
            for (int i = 0; i < 4; i++)
            {
                first.TrainStep();
            }
            first.Evaluate();
            first.SaveCheckpoint(halfCkpt);
        }
        // The second half runs in a fresh process state on one thread: the reductions do not depend on threads.
        using var onePool = new ComputePool(1);
        using BaseModel again = BaseModel.Load(s_stories, onePool);
        var resumed = LoraTrainer.Resume(again, train, eval, ResumeOptions with { EvalEvery = 4 }, halfCkpt);
        Assert.Equal(4, resumed.Step);
        resumed.Run(null);
        Assert.Equal(straightLog, resumed.Log.Points);
        Assert.Equal(straightAdapter, AdapterBytes(resumed, "straight"));
        Assert.Equal(9, straightLog.Count);
        Assert.All(straightLog.Skip(1), p => Assert.NotNull(p.TrainLoss));
    }

    private byte[] AdapterBytes(LoraTrainer trainer, string name)
    {
        string path = Path.Combine(_dir, $"{name}-{Guid.NewGuid():N}.gguf");
        trainer.ToAdapter(name).Save(path);
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void Damaged_foreign_or_mismatched_checkpoints_are_refused_with_the_reason()
    {
        using BaseModel model = BaseModel.Load(s_stories);
        (PackedDataset train, _) = Data(model, 6, 2, 64);
        var trainer = new LoraTrainer(model, train, null, ResumeOptions with { Steps = 2 });
        trainer.TrainStep();
        string good = Path.Combine(_dir, "good.ckpt");
        trainer.SaveCheckpoint(good);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        byte[] bytes = File.ReadAllBytes(good);

        string truncated = Path.Combine(_dir, "truncated.ckpt");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 1000)]);
        Assert.Contains("truncated or corrupt", Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(truncated, model.Model)).Message);

        string flipped = Path.Combine(_dir, "flipped.ckpt");
        byte[] copy = (byte[])bytes.Clone();
        copy[copy.Length / 2] ^= 0x40;
        File.WriteAllBytes(flipped, copy);
        Assert.Contains("truncated or corrupt", Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(flipped, model.Model)).Message);

        string other = Path.Combine(_dir, "other.ckpt");
        File.WriteAllText(other, "this is not a checkpoint at all, just some text that is long enough");
        Assert.Contains("not a Cria training checkpoint", Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(other, model.Model)).Message);

        using (BaseModel q4 = BaseModel.Load(tiny.Path))
        {
            Assert.Contains("another base model", Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(good, q4.Model)).Message);
        }
        var e = Assert.Throws<ArgumentException>(() => LoraTrainer.Resume(model, train, null, ResumeOptions with { Steps = 2, Rank = 8 }, good));
        Assert.Contains("--rank 4 (this run asks for 8)", e.Message);
        (PackedDataset otherData, _) = Data(model, 9, 2, 64);
        Assert.Contains("other data", Assert.Throws<ArgumentException>(() => LoraTrainer.Resume(model, otherData, null, ResumeOptions with { Steps = 2 }, good)).Message);

        // The good one still loads and continues.
        var resumed = LoraTrainer.Resume(model, train, null, ResumeOptions with { Steps = 2 }, good);
        Assert.Equal(1, resumed.Step);
    }
}
