using System.CommandLine;

using Cria.Core.Quantization;

using Spectre.Console;

namespace Cria.Cli;

/// <summary><c>cria quantize</c>: convert a GGUF model's weights to another type or llama.cpp mix.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "GGUF model to read" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var type = new Option<string>("--type") { Description = "target: " + string.Join(", ", WeightMixes.Names) + " (q4_k_m = Q4_K with Q6_K where llama.cpp puts it)", Required = true };
        var cmd = new Command("quantize", "Convert a model's weight matrices to another type; metadata and other tensors are copied.") { input, output, type };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string inPath = p.GetValue(input)!;
            if (!File.Exists(inPath))
            {
                throw new UserException($"file not found: {inPath}");
            }
            string outPath = p.GetValue(output)!;
            Quantizer.Result r = null!;
            AnsiConsole.Progress().Start(c =>
            {
                ProgressTask task = c.AddTask($"{Path.GetFileName(inPath)} → {p.GetValue(type)}", maxValue: 1.0);
                r = Quantizer.Quantize(inPath, outPath, p.GetValue(type)!, new Progress<double>(f => task.Value = f));
                task.Value = 1.0;
            });
            if (r.Requantized)
            {
                Console.Error.WriteLine("cria: warning: some tensors were already quantized; requantizing loses more precision than quantizing from f16/f32");
            }
            Console.Error.WriteLine($"wrote {outPath}: {r.Converted} tensors converted, {r.Copied} copied, {r.InputBytes:N0} → {r.OutputBytes:N0} bytes");
            return 0;
        }));
        return cmd;
    }
}
