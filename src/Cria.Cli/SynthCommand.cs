using System.CommandLine;

using Cria.Core.Quantization;
using Cria.Core.Synthetic;

using Spectre.Console;

namespace Cria.Cli;

/// <summary><c>cria synth</c>: a random-weight model of a real architecture, for benchmarks without downloads.</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var shape = new Option<string>("--shape") { Description = "architecture: " + string.Join(", ", SyntheticModel.Shapes.Select(s => s.Name)), Required = true };
        var type = new Option<string>("--type") { Description = "weights: " + string.Join(", ", WeightMixes.Names), DefaultValueFactory = _ => "q4_0" };
        var seed = new Option<ulong>("--seed") { Description = "random seed", DefaultValueFactory = _ => 1 };
        var vocab = new Option<string?>("--vocab") { Description = "vocab GGUF (or tokenizer.json) whose tokenizer is copied (default: the Llama 2 vocab in tests/data, or llama3-hf/tokenizer.json for llama3.2-1b)" };
        var output = new Option<string>("--output", "-o") { Description = "GGUF file to write", Required = true };
        var cmd = new Command("synth", "Write a random-weight GGUF (std 0.02) of a named architecture with a real vocabulary; llama.cpp loads it too.")
        {
            shape, type, seed, vocab, output,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string shapeName = p.GetValue(shape)!;
            string vocabPath = p.GetValue(vocab) ?? DefaultVocab(shapeName);
            if (!File.Exists(vocabPath))
            {
                throw new UserException($"vocabulary file not found: {vocabPath} (pass --vocab)");
            }
            string outPath = p.GetValue(output)!;
            AnsiConsole.Progress().Start(c =>
            {
                ProgressTask task = c.AddTask($"writing {Path.GetFileName(outPath)}", maxValue: 1.0);
                SyntheticModel.Write(shapeName, p.GetValue(type)!, p.GetValue(seed), outPath, vocabPath, new Progress<double>(f => task.Value = f));
                task.Value = 1.0;
            });
            Console.Error.WriteLine($"wrote {outPath} ({new FileInfo(outPath).Length:N0} bytes)");
            return 0;
        }));
        return cmd;
    }

    private static string DefaultVocab(string shape)
    {
        string relative = shape.StartsWith("llama3", StringComparison.OrdinalIgnoreCase)
            ? "tests/data/tokenizers/llama3-hf/tokenizer.json"
            : "tests/data/llama.cpp/vocab/ggml-vocab-llama-spm.gguf";
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return relative;
    }
}
