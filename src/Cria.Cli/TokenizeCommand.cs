using System.CommandLine;

using Cria.Core.Gguf;
using Cria.Core.Tokenization;

namespace Cria.Cli;

/// <summary><c>cria tokenize</c>: print token ids as one JSON array.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var text = new Argument<string>("text") { Description = "text to tokenize" };
        var model = new Option<string?>("--model", "-m") { Description = "GGUF file with a tokenizer (model or vocab-only)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Hugging Face tokenizer.json" };
        var noBos = new Option<bool>("--no-bos") { Description = "do not add BOS (or other special tokens the tokenizer adds)" };
        var special = new Option<bool>("--special") { Description = "parse special tokens written in the text (e.g. <|eot_id|>)" };
        var cmd = new Command("tokenize", "Print the token ids of TEXT as one JSON array.") { text, model, tokenizer, noBos, special };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string? m = p.GetValue(model);
            string? t = p.GetValue(tokenizer);
            if ((m is null) == (t is null))
            {
                throw new UserException("give exactly one of --model GGUF or --tokenizer tokenizer.json");
            }
            string path = (m ?? t)!;
            if (!File.Exists(path))
            {
                throw new UserException($"file not found: {path}");
            }
            Tokenizer tok;
            if (m is not null)
            {
                using GgufFile f = GgufFile.Open(m);
                tok = Tokenizer.FromGguf(f);
            }
            else
            {
                tok = Tokenizer.FromHuggingFaceJson(t!);
            }
            int[] ids = tok.Encode(p.GetValue(text)!, addSpecial: !p.GetValue(noBos), parseSpecial: p.GetValue(special));
            Console.Out.WriteLine("[" + string.Join(", ", ids) + "]");
            return 0;
        }));
        return cmd;
    }
}
