using System.CommandLine;

using Cria.Core.Conversion;
using Cria.Numerics;

namespace Cria.Cli;

/// <summary><c>cria import</c>: convert other checkpoint formats to GGUF.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "llama2.c checkpoint (.bin)" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "llama2.c tokenizer.bin (e.g. tok512.bin)", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "GGUF file to write", Required = true };
        var type = new Option<string>("--type") { Description = "weight type: f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, … (norms stay f32)", DefaultValueFactory = _ => "f32" };
        var name = new Option<string?>("--name") { Description = "general.name (default: the checkpoint's file name)" };
        var license = new Option<string?>("--license") { Description = "general.license, e.g. MIT" };
        var llama2c = new Command("llama2c", "Convert a karpathy/llama2.c checkpoint and its tokenizer.bin to a GGUF llama model.")
        {
            checkpoint, tokenizer, output, type, name, license,
        };
        llama2c.SetAction(p => CliErrors.Run(() =>
        {
            string ckpt = p.GetValue(checkpoint)!;
            string tok = p.GetValue(tokenizer)!;
            foreach (string f in new[] { ckpt, tok })
            {
                if (!File.Exists(f))
                {
                    throw new UserException($"file not found: {f}");
                }
            }
            string typeName = p.GetValue(type)!;
            if (!Enum.TryParse(typeName, ignoreCase: true, out GgmlType weightType) || !GgmlTypes.IsKnown(weightType))
            {
                throw new UserException($"unknown weight type \"{typeName}\"");
            }
            string outPath = p.GetValue(output)!;
            Llama2cImporter.Header h = Llama2cImporter.Import(ckpt, tok, outPath, new Llama2cImportOptions
            {
                Name = p.GetValue(name),
                License = p.GetValue(license),
                WeightType = weightType,
            });
            Console.Error.WriteLine($"wrote {outPath}: llama, dim {h.Dim}, {h.Layers} layers, {h.Heads} heads ({h.KvHeads} kv), vocab {h.VocabSize}, context {h.SeqLen}, {GgmlTypes.Name(weightType)} weights, {new FileInfo(outPath).Length:N0} bytes");
            return 0;
        }));
        return new Command("import", "Convert a model from another format to GGUF.") { llama2c };
    }
}
