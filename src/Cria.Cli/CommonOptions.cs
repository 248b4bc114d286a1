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

    public static Option<string> KvType(string more = "") =>
        new("--kv-type") { Description = $"KV cache element type: f16 (default), f32 (exact, twice the memory) or q8_0 (about half the memory of f16: 34 bytes per 32 values; the model's head size must be a multiple of 32){more}", DefaultValueFactory = _ => "f16" };

    public static Core.Models.KvCacheType ParseKvType(string? text) => text?.ToLowerInvariant() switch
    {
        "f16" => Core.Models.KvCacheType.F16,
        "f32" => Core.Models.KvCacheType.F32,
        "q8_0" => Core.Models.KvCacheType.Q8_0,
        var other => throw new UserException($"--kv-type must be f16, f32 or q8_0, got \"{other}\""),
    };

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

    /// <summary>A size such as 8G, 8GiB, 512M, 100000 (bytes); K, M, G, T are powers of 1024.</summary>
    public static long ParseSize(string text, string option)
    {
        string t = text.Trim();
        string digits = t.TrimEnd('B', 'b', 'i').TrimEnd();
        long scale = 1;
        if (digits.Length > 0 && char.ToUpperInvariant(digits[^1]) is var unit && unit is 'K' or 'M' or 'G' or 'T')
        {
            scale = unit switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1L << 40 };
            digits = digits[..^1];
        }
        if (!double.TryParse(digits, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out double value)
            || value <= 0 || value * scale > long.MaxValue / 2)
        {
            throw new UserException($"{option} must be a size such as 8G, 512M or a number of bytes, got \"{text}\"");
        }
        return (long)(value * scale);
    }
}
