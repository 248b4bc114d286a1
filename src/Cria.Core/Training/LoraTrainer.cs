using System.Diagnostics;

using Cria.Core.Models;
using Cria.Core.Training.Data;

namespace Cria.Core.Training;

/// <summary>What one optimizer step did.</summary>
public sealed record StepReport(int Step, int TotalSteps, double Loss, float LearningRate, double GradNorm, int Tokens, TimeSpan Elapsed);

/// <summary>An evaluation: mean cross-entropy over the evaluation targets and its perplexity.</summary>
public sealed record EvalReport(int Step, double Loss, int Tokens)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>
/// Trains LoRA factors on a frozen base. Invariant: after <see cref="Step"/> optimizer steps the
/// factors, AdamW moments and loss curve are exactly those of an uninterrupted run after that many
/// steps — step s reads windows [s·W, (s+1)·W) of the concatenated per-epoch shuffles (W = windows
/// per step), and its dropout masks and shuffles are functions of (seed, position) — so a run resumed
/// from a checkpoint continues bit for bit. Each step: forward and backward of every window (gradients
/// summed, the loss a mean over the step's learned tokens), global-norm clipping, AdamW with warm-up
/// and cosine decay. Every reduction runs in a fixed order, so results do not depend on the thread count.
/// </summary>
public sealed class LoraTrainer
{
    private readonly BaseModel _model;
    private readonly PackedDataset _train;
    private readonly PackedDataset? _eval;
    private readonly LoraNetwork _network;
    private readonly TrainerState _state;
    private int[] _order = [];
    private int _orderEpoch = -1;

    /// <summary>A fresh run: PEFT's initialization (B = 0), seeded.</summary>
    public LoraTrainer(BaseModel model, PackedDataset train, PackedDataset? eval, TrainingOptions options)
        : this(model, train, eval, Fresh(model, train, options))
    {
    }

    private LoraTrainer(BaseModel model, PackedDataset train, PackedDataset? eval, TrainerState state)
    {
        _model = model;
        _train = train;
        _eval = eval;
        _state = state;
        int longest = Math.Min(train.Windows.Concat(eval?.Windows ?? []).Max(w => w.Length), state.Options.Context);
        TrainingOptions o = state.Options;
        long keptBytes = 4L * model.Config.BlockCount * LayerActivations.FloatsFor(model.Config, longest, o.Rank, o.Targets);
        bool recompute = o.Activations == ActivationMode.Recompute || (o.Activations == ActivationMode.Auto && keptBytes > o.ActivationBudget);
        _network = new LoraNetwork(model.Model, state.Parameters, longest, recompute);
    }

    private static TrainerState Fresh(BaseModel model, PackedDataset train, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        CheckData(train, options);
        LoraParameters parameters = LoraParameters.Create(model.Config, options.Rank, options.Alpha, options.Targets, options.Seed);
        return new TrainerState
        {
            Options = options,
            Parameters = parameters,
            Optimizer = new AdamW(parameters),
            Log = new LossLog(),
            DataFingerprint = train.Fingerprint(),
            ModelKey = TrainingCheckpoint.ModelKey(model.Model),
        };
    }

    private static void CheckData(PackedDataset train, TrainingOptions options)
    {
        if (train.Windows.Count == 0)
        {
            throw new ArgumentException("the training data has no windows");
        }
        if (train.Windows.Any(w => w.Length > options.Context))
        {
            throw new ArgumentException($"a training window is longer than the context of {options.Context}");
        }
    }

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/>. <paramref name="options"/> must ask
    /// for the same trajectory (every setting but evaluation, saving and recomputation), and the data
    /// must be the same windows; otherwise the resume is refused with the settings that differ.
    /// </summary>
    public static LoraTrainer Resume(BaseModel model, PackedDataset train, PackedDataset? eval, TrainingOptions options, string checkpointPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        TrainerState saved = TrainingCheckpoint.Load(checkpointPath, model.Model);
        var differences = Differences(saved.Options, options);
        if (differences.Count > 0)
        {
            throw new ArgumentException($"{checkpointPath} was trained with {string.Join(", ", differences)}; resume with the same settings");
        }
        if (saved.DataFingerprint != train.Fingerprint())
        {
            throw new ArgumentException($"{checkpointPath} was trained on other data (the packed windows differ); resume with the same --data and --ctx");
        }
        CheckData(train, options);
        var state = new TrainerState
        {
            Options = saved.Options with { EvalEvery = options.EvalEvery, SaveEvery = options.SaveEvery, Activations = options.Activations, ActivationBudget = options.ActivationBudget },
            Parameters = saved.Parameters,
            Optimizer = saved.Optimizer,
            Log = saved.Log,
            DataFingerprint = saved.DataFingerprint,
            ModelKey = saved.ModelKey,
        };
        return new LoraTrainer(model, train, eval, state);
    }

    private static List<string> Differences(TrainingOptions saved, TrainingOptions asked)
    {
        var d = new List<string>();
        void Compare<T>(string name, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
            {
                d.Add(FormattableString.Invariant($"{name} {a} (this run asks for {b})"));
            }
        }
        Compare("--rank", saved.Rank, asked.Rank);
        Compare("--alpha", saved.Alpha, asked.Alpha);
        Compare("--dropout", saved.Dropout, asked.Dropout);
        Compare("--targets", TargetNames.Format(saved.Targets), TargetNames.Format(asked.Targets));
        Compare("--lr", saved.LearningRate, asked.LearningRate);
        Compare("--weight-decay", saved.WeightDecay, asked.WeightDecay);
        Compare("steps", saved.Steps, asked.Steps);
        Compare("warm-up", saved.Warmup, asked.Warmup);
        Compare("--batch", saved.Batch, asked.Batch);
        Compare("--grad-accum", saved.GradAccum, asked.GradAccum);
        Compare("--ctx", saved.Context, asked.Context);
        Compare("--seed", saved.Seed, asked.Seed);
        Compare("clipping", saved.ClipNorm, asked.ClipNorm);
        Compare("AdamW betas", (saved.Beta1, saved.Beta2, saved.Epsilon), (asked.Beta1, asked.Beta2, asked.Epsilon));
        return d;
    }

    public TrainingOptions Options => _state.Options;

    public LoraParameters Parameters => _state.Parameters;

    public LossLog Log => _state.Log;

    /// <summary>Optimizer steps done.</summary>
    public int Step => _state.Step;

    public bool Done => Step >= Options.Steps;

    /// <summary>Activation and gradient memory of the network, in bytes (weights and LoRA state not included).</summary>
    public long ActivationBytes => _network.ActivationBytes;

    /// <summary>Whether blocks are recomputed in the backward (see <see cref="ActivationMode"/>).</summary>
    public bool Recomputes => _network.Recompute;

    /// <summary>The window read by micro-batch <paramref name="index"/> (counting from the start of the run).</summary>
    private TrainingWindow WindowAt(long index)
    {
        int count = _train.Windows.Count;
        int epoch = (int)(index / count);
        if (epoch != _orderEpoch)
        {
            _order = Shuffle(count, SeedMix.Of(Options.Seed, 0x44415441UL, (ulong)epoch));
            _orderEpoch = epoch;
        }
        return _train.Windows[_order[(int)(index % count)]];
    }

    /// <summary>Fisher–Yates with its own generator: the order of an epoch depends on (seed, epoch) only.</summary>
    private static int[] Shuffle(int count, ulong seed)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }
        var rng = new Sampling.Rng(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>One optimizer step over the next windows.</summary>
    public StepReport TrainStep()
    {
        if (Done)
        {
            throw new InvalidOperationException($"all {Options.Steps} steps are done");
        }
        var clock = Stopwatch.StartNew();
        TrainingOptions o = Options;
        long first = _state.WindowsSeen;
        int per = o.WindowsPerStep;
        int learned = 0, tokens = 0;
        for (int j = 0; j < per; j++)
        {
            TrainingWindow w = WindowAt(first + j);
            learned += w.TrainableCount;
            tokens += w.Length;
        }
        LoraParameters p = _state.Parameters;
        p.ZeroGradients();
        double loss = 0;
        for (int j = 0; j < per; j++)
        {
            TrainingWindow w = WindowAt(first + j);
            loss += _network.Forward(w, 1f / learned, o.Dropout, SeedMix.Of(o.Seed, 0x44524F50UL, (ulong)(first + j)));
            _network.Backward();
        }
        double norm = GradientNorm(p);
        if (o.ClipNorm > 0 && norm > o.ClipNorm)
        {
            Scale(p, (float)(o.ClipNorm / (norm + 1e-6)));
        }
        float lr = LearningRateSchedule.At(Step + 1, o.LearningRate, o.Warmup, o.Steps);
        _state.Optimizer.Update(lr, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay);
        double mean = loss / learned;
        _state.Log.AddTrain(Step, mean, lr);
        return new StepReport(Step, o.Steps, mean, lr, norm, tokens, clock.Elapsed);
    }

    /// <summary>The mean loss over the evaluation data (no dropout), logged at the current step; null without evaluation data.</summary>
    public EvalReport? Evaluate()
    {
        if (_eval is null)
        {
            return null;
        }
        double loss = 0;
        int count = 0;
        foreach (TrainingWindow w in _eval.Windows)
        {
            loss += _network.Forward(w, null, 0, 0);
            count += w.TrainableCount;
        }
        double mean = loss / Math.Max(1, count);
        float lr = Step == 0 ? 0 : LearningRateSchedule.At(Step, Options.LearningRate, Options.Warmup, Options.Steps);
        _state.Log.AddEval(Step, mean, lr);
        return new EvalReport(Step, mean, count);
    }

    /// <summary>
    /// Runs to the last step: evaluation before the first step (fresh runs), every EvalEvery steps and at
    /// the end; a checkpoint every SaveEvery steps and at the end when <paramref name="checkpointPath"/> is given.
    /// </summary>
    public void Run(string? checkpointPath, Action<StepReport>? onStep = null, Action<EvalReport>? onEval = null,
        Action<string>? onCheckpoint = null, CancellationToken cancellation = default)
    {
        TrainingOptions o = Options;
        if (_eval is not null && Step == 0 && !Log.Points.Any(p => p.Step == 0 && p.EvalLoss is not null))
        {
            EvalReport first = Evaluate()!;
            onEval?.Invoke(first);
        }
        while (!Done)
        {
            cancellation.ThrowIfCancellationRequested();
            StepReport step = TrainStep();
            onStep?.Invoke(step);
            if (_eval is not null && (Done || (o.EvalEvery > 0 && Step % o.EvalEvery == 0)))
            {
                EvalReport eval = Evaluate()!;
                onEval?.Invoke(eval);
            }
            if (checkpointPath is not null && (Done || (o.SaveEvery > 0 && Step % o.SaveEvery == 0)))
            {
                SaveCheckpoint(checkpointPath);
                onCheckpoint?.Invoke(checkpointPath);
            }
        }
    }

    public void SaveCheckpoint(string path) => TrainingCheckpoint.Save(path, _state);

    /// <summary>The trained factors as an adapter for the base's architecture.</summary>
    public LoraAdapter ToAdapter(string name) => _state.Parameters.ToAdapter(name, _model.Config.Architecture);

    private static double GradientNorm(LoraParameters p)
    {
        double sum = 0;
        foreach (LoraParameter m in p.All)
        {
            sum += SumSquares(m.GradA) + SumSquares(m.GradBT);
        }
        return Math.Sqrt(sum);
    }

    private static double SumSquares(float[] g)
    {
        double s = 0;
        foreach (float v in g)
        {
            s += (double)v * v;
        }
        return s;
    }

    private static void Scale(LoraParameters p, float factor)
    {
        foreach (LoraParameter m in p.All)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(m.GradA, factor, m.GradA);
            System.Numerics.Tensors.TensorPrimitives.Multiply(m.GradBT, factor, m.GradBT);
        }
    }
}
