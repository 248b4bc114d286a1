using System.CommandLine;

using Cria.Core.Adapters;

using Spectre.Console;

namespace Cria.Cli;

/// <summary><c>cria merge</c>: bake LoRA adapters into a model's weights (llama.cpp's export-lora).</summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("base") { Description = "base model: GGUF file or store name" };
        var adapters = new Argument<string[]>("adapters") { Description = "LoRA adapter GGUF files, each FILE or FILE:SCALE", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "GGUF file to write", Required = true };
        var type = new Option<string?>("--type") { Description = "type of the merged matrices (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, …; default: each matrix keeps its type)" };
        var cmd = new Command("merge", "Merge LoRA adapters into a base model: W' = W + scale · alpha/rank · B·A; other tensors and metadata are copied.")
        {
            model, adapters, output, type,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string basePath = ModelPaths.Resolve(p.GetValue(model));
            var specs = new List<(string, float)>();
            foreach (string spec in p.GetValue(adapters) ?? [])
            {
                (string path, float scale) = ModelPaths.ParseAdapterSpec(spec);
                if (!File.Exists(path))
                {
                    throw new UserException($"adapter file not found: {path}");
                }
                specs.Add((path, scale));
            }
            string outPath = p.GetValue(output)!;
            LoraMerger.Result r = null!;
            AnsiConsole.Progress().Start(c =>
            {
                ProgressTask task = c.AddTask($"merging {specs.Count} adapter(s) into {Path.GetFileName(basePath)}", maxValue: 1.0);
                try
                {
                    r = LoraMerger.Merge(basePath, specs, outPath, p.GetValue(type), new Progress<double>(f => task.Value = f));
                }
                catch (ArgumentException e)
                {
                    throw new UserException(e.Message);
                }
                task.Value = 1.0;
            });
            Console.Error.WriteLine($"wrote {outPath}: {r.Merged} matrices merged, {r.Copied} tensors copied, {r.OutputBytes:N0} bytes");
            return 0;
        }));
        return cmd;
    }
}
