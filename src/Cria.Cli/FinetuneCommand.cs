using System.CommandLine;
using System.Globalization;

using Cria.Core.Adapters;
using Cria.Core.Training;
using Cria.Core.Training.Data;

namespace Cria.Cli;

/// <summary><c>cria finetune</c>: train a LoRA adapter on a frozen base model from a JSONL file.</summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model("base model: GGUF file (F32, F16 or quantized) or store name (default: the bundled stories260K model)");
        var data = new Option<string>("--data", "-d") { Description = "training data, JSONL: {\"messages\":[…]}, {\"prompt\",\"completion\"} or {\"text\"} per line", Required = true };
        var eval = new Option<string?>("--eval") { Description = "evaluation data (same format): loss and perplexity before, during and after training" };
        var rank = new Option<int>("--rank", "-r") { Description = "LoRA rank", DefaultValueFactory = _ => 8 };
        var alpha = new Option<float>("--alpha") { Description = "LoRA alpha (the update is scaled by alpha/rank)", DefaultValueFactory = _ => 16f };
        var dropout = new Option<float>("--dropout") { Description = "dropout on the LoRA input (PEFT's lora_dropout)", DefaultValueFactory = _ => 0.05f };
        var targets = new Option<string>("--targets") { Description = "matrices to adapt: q,k,v,o,gate,up,down (or all)", DefaultValueFactory = _ => "q,k,v,o,gate,up,down" };
        var lr = new Option<float>("--lr") { Description = "peak learning rate (AdamW, linear warm-up, cosine decay)", DefaultValueFactory = _ => 2e-4f };
        var epochs = new Option<double?>("--epochs") { Description = "passes over the data (default 1; or give --steps)" };
        var steps = new Option<int?>("--steps") { Description = "optimizer steps in all (instead of --epochs)" };
        var batch = new Option<int>("--batch", "-b") { Description = "windows per micro-batch", DefaultValueFactory = _ => 1 };
        var accum = new Option<int>("--grad-accum") { Description = "micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var ctx = CommonOptions.Context("tokens per training window; short examples are packed, long ones cut (default: the model's context, at most 512)");
        var seed = new Option<ulong>("--seed") { Description = "seed of initialization, shuffling and dropout", DefaultValueFactory = _ => 42UL };
        var warmup = new Option<int>("--warmup") { Description = "warm-up steps (default: a tenth of the steps, at most 100)", DefaultValueFactory = _ => -1 };
        var weightDecay = new Option<float>("--weight-decay") { Description = "AdamW's decoupled weight decay", DefaultValueFactory = _ => 0.01f };
        var clip = new Option<float>("--clip") { Description = "clip the global gradient norm to this (0: off)", DefaultValueFactory = _ => 1f };
        var evalEvery = new Option<int>("--eval-every") { Description = "evaluate every N steps (default: ten times per run)", DefaultValueFactory = _ => -1 };
        var saveEvery = new Option<int>("--save-every") { Description = "write a checkpoint every N steps (besides the end)", DefaultValueFactory = _ => 0 };
        var resume = new Option<string?>("--resume") { Description = "continue from a checkpoint (same data and settings)" };
        var format = new Option<string>("--format") { Description = "gguf (llama.cpp's LoRA format) or peft (a folder: adapter_model.safetensors + adapter_config.json)", DefaultValueFactory = _ => "gguf" };
        var activations = new Option<string>("--activations") { Description = "auto (keep them if every layer's fit in 2 GiB), keep (fastest) or recompute (least memory: each layer is recomputed from its input in the backward)", DefaultValueFactory = _ => "auto" };
        var output = new Option<string>("--output", "-o") { Description = "adapter to write (a .gguf file, or a folder with --format peft)", Required = true };
        var threads = CommonOptions.Threads();
        var cmd = new Command("finetune", "Train a LoRA adapter on a frozen base model (F32, F16 or quantized) from a JSONL file, on the CPU.")
        {
            model, data, eval, rank, alpha, dropout, targets, lr, epochs, steps, batch, accum, ctx, seed, warmup, weightDecay, clip,
            evalEvery, saveEvery, resume, format, activations, output, threads,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            var run = new FinetuneRun
            {
                Model = p.GetValue(model),
                Data = p.GetValue(data)!,
                Eval = p.GetValue(eval),
                Targets = p.GetValue(targets)!,
                Epochs = p.GetValue(epochs),
                Steps = p.GetValue(steps),
                Context = p.GetValue(ctx),
                EvalEvery = p.GetValue(evalEvery),
                Resume = p.GetValue(resume),
                Format = p.GetValue(format)!,
                Output = p.GetValue(output)!,
                Threads = p.GetValue(threads),
                Options = new TrainingOptions
                {
                    Rank = p.GetValue(rank),
                    Alpha = p.GetValue(alpha),
                    Dropout = p.GetValue(dropout),
                    LearningRate = p.GetValue(lr),
                    Batch = p.GetValue(batch),
                    GradAccum = p.GetValue(accum),
                    Seed = p.GetValue(seed),
                    WarmupSteps = p.GetValue(warmup),
                    WeightDecay = p.GetValue(weightDecay),
                    ClipNorm = p.GetValue(clip),
                    SaveEvery = p.GetValue(saveEvery),
                    Activations = p.GetValue(activations) switch
                    {
                        "auto" => ActivationMode.Auto,
                        "keep" => ActivationMode.Keep,
                        "recompute" => ActivationMode.Recompute,
                        var other => throw new UserException($"--activations must be auto, keep or recompute, got \"{other}\""),
                    },
                },
            };
            return run.Execute();
        }));
        return cmd;
    }
}

/// <summary>One <c>cria finetune</c> invocation: checks the arguments, loads model and data, trains, writes the adapter and the loss files.</summary>
internal sealed class FinetuneRun
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public required string? Model { get; init; }
    public required string Data { get; init; }
    public required string? Eval { get; init; }
    public required string Targets { get; init; }
    public required double? Epochs { get; init; }
    public required int? Steps { get; init; }
    public required int Context { get; init; }
    public required int EvalEvery { get; init; }
    public required string? Resume { get; init; }
    public required string Format { get; init; }
    public required string Output { get; init; }
    public required int Threads { get; init; }
    public required TrainingOptions Options { get; init; }

    public int Execute()
    {
        if (Format is not ("gguf" or "peft"))
        {
            throw new UserException($"--format must be gguf or peft, got \"{Format}\"");
        }
        if (Epochs is not null && Steps is not null)
        {
            throw new UserException("give --epochs or --steps, not both");
        }
        if (Epochs is double e && !(e > 0 && e <= 100_000))
        {
            throw new UserException($"--epochs must be a positive number, got {e}");
        }
        IReadOnlyList<Core.Models.LoraTarget> targets;
        try
        {
            targets = TargetNames.Parse(Targets);
        }
        catch (ArgumentException ex)
        {
            throw new UserException($"--targets: {ex.Message}");
        }
        if (!File.Exists(Data))
        {
            throw new UserException($"data file not found: {Data}");
        }
        if (Eval is not null && !File.Exists(Eval))
        {
            throw new UserException($"evaluation file not found: {Eval}");
        }
        if (Resume is not null && !File.Exists(Resume))
        {
            throw new UserException($"checkpoint not found: {Resume}");
        }
        string? outDir = Path.GetDirectoryName(Path.GetFullPath(Path.TrimEndingDirectorySeparator(Output)));
        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir); // fail now, not after training, if the adapter cannot be written there
        }
        string modelPath = ModelPaths.Resolve(Model);
        using BaseModel baseModel = BaseModel.Load(modelPath, CommonOptions.Pool(Threads));
        int context = Context > 0 ? Context : Math.Min(512, baseModel.Config.ContextLength);
        if (context < 2 || context > baseModel.Config.ContextLength)
        {
            throw new UserException($"--ctx must be between 2 and the model's context of {baseModel.Config.ContextLength}, got {context}");
        }

        var encoder = new ExampleEncoder(baseModel.Tokenizer, baseModel.ChatTemplateSource);
        PackedDataset train = LoadData(Data, encoder, context);
        PackedDataset? evalData = Eval is null ? null : LoadData(Eval, encoder, context);
        int perStep = Options.Batch * Options.GradAccum;
        int steps = Steps ?? (int)Math.Max(1, Math.Ceiling((Epochs ?? 1.0) * train.Windows.Count / perStep));
        TrainingOptions options = Options with
        {
            Targets = targets,
            Context = context,
            Steps = steps,
            EvalEvery = EvalEvery >= 0 ? EvalEvery : Math.Max(1, steps / 10),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new UserException(ex.Message);
        }

        string checkpoint = LossLog.BasePathFor(Output) + ".ckpt";
        LoraTrainer trainer = Resume is null
            ? new LoraTrainer(baseModel, train, evalData, options)
            : LoraTrainer.Resume(baseModel, train, evalData, options, Resume);
        PrintSummary("training data", Data, train.Summary);
        if (evalData is not null)
        {
            PrintSummary("evaluation data", Eval!, evalData.Summary);
        }
        if (encoder.UsesDefaultTemplate && File.ReadLines(Data).Any(l => l.Contains("\"messages\"", StringComparison.Ordinal)))
        {
            Console.Error.WriteLine("cria: note: the model has no chat template; conversations are rendered as ChatML");
        }
        double epochs = (double)steps * perStep / train.Windows.Count;
        string resuming = trainer.Step > 0 ? string.Create(s_inv, $"; resuming at step {trainer.Step}") : "";
        Console.Error.WriteLine(string.Create(s_inv,
            $"training: {steps:N0} steps of {perStep} window(s) ({epochs:0.##} epochs), LoRA rank {options.Rank} alpha {options.Alpha} on {TargetNames.Format(targets)}, {trainer.Parameters.Count:N0} trainable parameters, lr {options.LearningRate:G3}, {trainer.ActivationBytes / (1 << 20):N0} MiB of activations ({(trainer.Recomputes ? "recomputed" : "kept")}){resuming}"));

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, args) =>
        {
            args.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        var progress = new TrainingProgress(steps, trainer.Step);
        try
        {
            trainer.Run(checkpoint, progress.OnStep, progress.OnEval, null, cancel.Token);
        }
        catch (OperationCanceledException)
        {
            progress.Finish();
            trainer.SaveCheckpoint(checkpoint);
            Console.Error.WriteLine($"cria: stopped at step {trainer.Step}; checkpoint {checkpoint} (continue with the same command and --resume {checkpoint})");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        progress.Finish();

        string name = Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(Output));
        Core.Models.LoraAdapter adapter = trainer.ToAdapter(name);
        if (Format == "peft")
        {
            PeftAdapter.Save(adapter, baseModel.Config, Output, Model ?? Path.GetFileNameWithoutExtension(modelPath), options.Dropout);
        }
        else
        {
            adapter.Save(Output);
        }
        (string csv, string svg) = trainer.Log.WriteFiles(LossLog.BasePathFor(Output), $"{name}: LoRA on {Path.GetFileName(modelPath)}");
        Console.Error.WriteLine($"wrote {Output} ({(Format == "peft" ? "PEFT folder" : "GGUF LoRA adapter")}), {csv}, {svg}; checkpoint {checkpoint}");
        return 0;
    }

    private static PackedDataset LoadData(string path, ExampleEncoder encoder, int context)
    {
        try
        {
            return Packer.Load(path, encoder, context);
        }
        catch (DatasetException e)
        {
            throw new UserException(e.Message);
        }
    }

    private static void PrintSummary(string what, string path, DatasetSummary s) =>
        Console.Error.WriteLine(string.Create(s_inv,
            $"{what}: {path}: {s.Examples:N0} examples, {s.Tokens:N0} tokens ({s.TrainableTokens:N0} trained), {s.Truncated:N0} truncated to {s.Context}, {s.Dropped:N0} without trainable tokens, packed into {s.Windows:N0} windows"));
}
