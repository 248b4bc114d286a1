using System.CommandLine;
using Cria.Numerics.Threading;

namespace Cria.Cli;

/// <summary>Options several commands share.</summary>
internal static class CommonOptions
{
    public static Option<string?> Model(string description = "GGUF model file or store name (default: the bundled stories260K model)") =>
        new("--model", "-m") { Description = description };

    public static Option<int> Threads() =>
        new("--threads", "-t") { Description = "compute threads (default: physical cores)", DefaultValueFactory = _ => ComputePool.DefaultThreads };

    public static Option<int> Context(string description = "context length in tokens (default: the model's, at most 4096)") =>
        new("--ctx", "-c") { Description = description, DefaultValueFactory = _ => 0 };

    /// <summary>Loads a model for a command and prints its warnings to stderr.</summary>
    public static Core.Inference.LocalModel Load(string? model, int threads)
    {
        var lm = Core.Inference.LocalModel.Load(ModelPaths.Resolve(model), Pool(threads));
        foreach (string w in lm.Warnings)
        {
            Console.Error.WriteLine($"cria: warning: {w}");
        }
        return lm;
    }

    public static ComputePool Pool(int threads)
    {
        if (threads < 1 || threads > 1024)
        {
            throw new UserException($"--threads must be between 1 and 1024, got {threads}");
        }
        return threads == ComputePool.DefaultThreads ? ComputePool.Shared : new ComputePool(threads);
    }
}
