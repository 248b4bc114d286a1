using Cria.Core.Models;

namespace Cria.Core.Training;

/// <summary>How training treats the activations inside a block between forward and backward.</summary>
public enum ActivationMode
{
    /// <summary>Keep them when every block's fit <see cref="TrainingOptions.ActivationBudget"/>, else recompute.</summary>
    Auto,

    /// <summary>Keep only each block's input and recompute the block in the backward (activation checkpointing: least memory, one more forward per step).</summary>
    Recompute,

    /// <summary>Keep every block's activations (fastest, most memory).</summary>
    Keep,
}

/// <summary>
/// Hyperparameters of a LoRA fine-tune. Everything here except <see cref="EvalEvery"/>,
/// <see cref="SaveEvery"/> and <see cref="Activations"/> shapes the loss trajectory, so a checkpoint
/// records it and a resume must ask for the same.
/// </summary>
public sealed record TrainingOptions
{
    public int Rank { get; init; } = 8;

    public float Alpha { get; init; } = 16f;

    /// <summary>PEFT's lora_dropout: the probability of zeroing an input element of the LoRA path.</summary>
    public float Dropout { get; init; } = 0.05f;

    public IReadOnlyList<LoraTarget> Targets { get; init; } = Enum.GetValues<LoraTarget>();

    /// <summary>Peak learning rate (after warm-up).</summary>
    public float LearningRate { get; init; } = 2e-4f;

    /// <summary>AdamW's decoupled weight decay (Loshchilov &amp; Hutter 2019), as torch.optim.AdamW applies it.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    public float Beta1 { get; init; } = 0.9f;

    public float Beta2 { get; init; } = 0.999f;

    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Optimizer steps in all.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Steps of linear warm-up; −1 picks steps/10, at most 100.</summary>
    public int WarmupSteps { get; init; } = -1;

    /// <summary>Windows per micro-batch (run one after another, gradients summed).</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradAccum { get; init; } = 1;

    /// <summary>Tokens per window.</summary>
    public int Context { get; init; } = 512;

    public ulong Seed { get; init; } = 42;

    /// <summary>Global gradient-norm clipping threshold; 0 turns clipping off.</summary>
    public float ClipNorm { get; init; } = 1f;

    /// <summary>Evaluate every this many steps (0: only at the start and the end).</summary>
    public int EvalEvery { get; init; }

    /// <summary>Checkpoint every this many steps (0: only at the end).</summary>
    public int SaveEvery { get; init; }

    /// <summary>Whether a block's activations are kept from the forward or recomputed from its input in the backward.</summary>
    public ActivationMode Activations { get; init; } = ActivationMode.Auto;

    /// <summary>With <see cref="ActivationMode.Auto"/>, keep every block's activations when they take at most this many bytes.</summary>
    public long ActivationBudget { get; init; } = 2L << 30;

    /// <summary>Windows per optimizer step.</summary>
    public int WindowsPerStep => Batch * GradAccum;

    public int Warmup => WarmupSteps >= 0 ? Math.Min(WarmupSteps, Steps) : Math.Min(100, Steps / 10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }
        Check(Rank is >= 1 and <= LoraAdapter.MaxRank, $"--rank must be between 1 and {LoraAdapter.MaxRank}, got {Rank}");
        Check(float.IsFinite(Alpha) && Alpha > 0, $"--alpha must be a positive number, got {Alpha}");
        Check(Dropout is >= 0 and < 1, $"--dropout must be in [0, 1), got {Dropout}");
        Check(Targets.Count > 0, "--targets needs at least one matrix");
        Check(float.IsFinite(LearningRate) && LearningRate > 0 && LearningRate < 10, $"--lr must be a positive number below 10, got {LearningRate}");
        Check(float.IsFinite(WeightDecay) && WeightDecay >= 0 && WeightDecay < 1, $"--weight-decay must be in [0, 1), got {WeightDecay}");
        Check(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1 && Epsilon > 0, "AdamW betas must be in [0, 1) and epsilon positive");
        Check(Steps is >= 1 and <= 10_000_000, $"the number of steps must be between 1 and 10,000,000, got {Steps}");
        Check(Batch is >= 1 and <= 4096, $"--batch must be between 1 and 4096, got {Batch}");
        Check(GradAccum is >= 1 and <= 4096, $"--grad-accum must be between 1 and 4096, got {GradAccum}");
        Check(Context is >= 2 and <= 1 << 20, $"--ctx must be between 2 and {1 << 20}, got {Context}");
        Check(float.IsFinite(ClipNorm) && ClipNorm >= 0, $"the clipping norm must be ≥ 0, got {ClipNorm}");
        Check(EvalEvery >= 0 && SaveEvery >= 0, "--eval-every and --save-every must be ≥ 0");
    }
}
