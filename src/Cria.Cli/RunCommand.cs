using System.CommandLine;

using Cria.Core.Inference;
using Cria.Core.Sampling;
using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary><c>cria run</c>: stream a continuation of a prompt (or an interactive loop on a terminal).</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var prompt = new Argument<string?>("prompt") { Description = "text to continue; omit for an interactive loop (or to read stdin when it is redirected)", Arity = ArgumentArity.ZeroOrOne };
        var model = CommonOptions.Model();
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "tokens to generate at most (-1: until the end or the context is full)", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature", "--temp") { Description = "sampling temperature; 0 is greedy", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "keep the k most likely tokens (0: off)", DefaultValueFactory = _ => 40 };
        var topP = new Option<float>("--top-p") { Description = "nucleus sampling threshold (1: off)", DefaultValueFactory = _ => 0.95f };
        var minP = new Option<float>("--min-p") { Description = "drop tokens below min-p × the top probability (0: off)", DefaultValueFactory = _ => 0.05f };
        var repeat = new Option<float>("--repeat-penalty") { Description = "penalty for repeated tokens (1: off)", DefaultValueFactory = _ => 1.0f };
        var repeatLastN = new Option<int>("--repeat-last-n") { Description = "tokens the penalties look back over (-1: all)", DefaultValueFactory = _ => 64 };
        var presence = new Option<float>("--presence-penalty") { Description = "OpenAI-style presence penalty", DefaultValueFactory = _ => 0f };
        var frequency = new Option<float>("--frequency-penalty") { Description = "OpenAI-style frequency penalty", DefaultValueFactory = _ => 0f };
        var seed = new Option<ulong?>("--seed", "-s") { Description = "random seed for reproducible sampling" };
        var stop = new Option<string[]>("--stop") { Description = "stop when this text appears (repeatable)", AllowMultipleArgumentsPerToken = false };
        var ctx = CommonOptions.Context();
        var threads = CommonOptions.Threads();
        var verbose = new Option<bool>("--verbose", "-v") { Description = "print timings to stderr" };
        var adapter = new Option<string[]>("--adapter") { Description = "apply a LoRA adapter (llama.cpp GGUF format), as FILE or FILE:SCALE (repeatable)", AllowMultipleArgumentsPerToken = false };
        var kvType = CommonOptions.KvType();

        var cmd = new Command("run", "Generate text with a model, streaming the continuation (not the prompt) to stdout.")
        {
            prompt, model, adapter, maxTokens, temperature, topK, topP, minP, repeat, repeatLastN, presence, frequency, seed, stop, ctx, threads, kvType, verbose,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            // A stored model's PARAMETERs are the defaults; options given on the command line win.
            ResolvedModel resolved = ModelPaths.ResolveModel(p.GetValue(model));
            var defaults = new StoreDefaults(p, resolved.Parameters);
            var sampling = new SamplingOptions
            {
                Temperature = defaults.Float(temperature, "temperature"),
                TopK = defaults.Int(topK, "top_k"),
                TopP = defaults.Float(topP, "top_p"),
                MinP = defaults.Float(minP, "min_p"),
                RepeatPenalty = defaults.Float(repeat, "repeat_penalty"),
                PenaltyLastN = defaults.Int(repeatLastN, "repeat_last_n"),
                PresencePenalty = defaults.Float(presence, "presence_penalty"),
                FrequencyPenalty = defaults.Float(frequency, "frequency_penalty"),
                Seed = defaults.Seed(seed),
            };
            sampling.Validate();
            int n = defaults.Int(maxTokens, "num_predict");
            if (n < -2)
            {
                throw new UserException($"--max-tokens must be ≥ -1, got {n}");
            }
            if (p.GetValue(verbose) && (resolved.System is not null || resolved.Template is not null))
            {
                Console.Error.WriteLine($"cria: {resolved.DisplayName} has a system prompt or template; `cria run` continues raw text, so they are not applied");
            }
            using LocalModel lm = CommonOptions.Load(resolved.ModelPath, p.GetValue(threads));
            int ctxLen = ResolveContext(defaults.Int(ctx, "num_ctx"), lm.Model.Config.ContextLength);
            string[] stops = defaults.Strings(stop, "stop");
            var options = new GenerationOptions { MaxTokens = n < 0 ? int.MaxValue : n, Sampling = sampling, Stop = stops };
            string? text = p.GetValue(prompt);
            if (text is null && Console.IsInputRedirected)
            {
                text = Console.In.ReadToEnd();
            }
            Core.Models.KvCacheType cacheType = CommonOptions.ParseKvType(p.GetValue(kvType));
            List<Core.Models.ActiveAdapter> adapters = ModelPaths.LoadAdapters(resolved, p.GetValue(adapter) ?? [], lm.Model.Config);
            var session = new RunSession(lm, ctxLen, options, p.GetValue(verbose), cacheType, adapters);
            if (text is not null)
            {
                session.Generate(text);
                return 0;
            }
            return session.Interactive();
        }));
        return cmd;
    }

    public static int ResolveContext(int requested, int modelContext)
    {
        if (requested < 0 || requested > 1 << 20)
        {
            throw new UserException($"--ctx must be between 1 and {1 << 20}, got {requested}");
        }
        return requested > 0 ? requested : Math.Min(modelContext, 4096);
    }
}
