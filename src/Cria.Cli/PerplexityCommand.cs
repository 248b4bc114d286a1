using System.CommandLine;
using System.Globalization;

using Cria.Core.Inference;

namespace Cria.Cli;

/// <summary><c>cria perplexity</c>: llama-perplexity's measurement on a text file.</summary>
internal static class PerplexityCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var file = new Option<string>("--file", "-f") { Description = "UTF-8 text file to score", Required = true };
        var ctx = new Option<int>("--ctx", "-c") { Description = "tokens per chunk", DefaultValueFactory = _ => 512 };
        var chunks = new Option<int>("--chunks") { Description = "score at most this many chunks (-1: all)", DefaultValueFactory = _ => -1 };
        var threads = CommonOptions.Threads();
        var kvType = CommonOptions.KvType();
        var cmd = new Command("perplexity", "Perplexity of a model on a text, measured as llama.cpp's llama-perplexity does (consecutive chunks, BOS first, the second half of each chunk scored).")
        {
            model, file, ctx, chunks, threads, kvType,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string path = p.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new UserException($"text file not found: {path}");
            }
            int n = p.GetValue(ctx);
            if (n < 4 || n > 1 << 20)
            {
                throw new UserException($"--ctx must be between 4 and {1 << 20}, got {n}");
            }
            Core.Models.KvCacheType cacheType = CommonOptions.ParseKvType(p.GetValue(kvType));
            using LocalModel lm = CommonOptions.Load(p.GetValue(model), p.GetValue(threads));
            string text = File.ReadAllText(path);
            int[] tokens = lm.Tokenizer.Encode(text, addSpecial: true);
            var inv = CultureInfo.InvariantCulture;
            Console.Error.WriteLine(string.Create(inv, $"tokenized {text.Length:N0} characters into {tokens.Length:N0} tokens; {tokens.Length / n} chunks of {n}"));
            int bos = lm.Tokenizer.AddBos ? lm.Tokenizer.BosId : -1;
            PerplexityResult r = Perplexity.Run(lm.Model, tokens, n, bos, p.GetValue(chunks),
                (done, total, ppl) => Console.Error.Write(string.Create(inv, $"[{done}]{ppl:F4},{(done == total ? "\n" : "")}")), cacheType: cacheType);
            Console.Out.WriteLine(string.Create(inv, $"PPL = {r.Perplexity:F4} +/- {r.Uncertainty:F4}"));
            return 0;
        }));
        return cmd;
    }
}
