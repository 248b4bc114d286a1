using System.Globalization;

using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Bench;

/// <summary>
/// lora --model F --adapter A [--scale 1] [--prompt TEXT] [--gen 16]: the adapter Cria wrote, loaded by
/// llama.cpp (LLamaSharp's LoadLoraFromFile + SetLoraAdapters) and by Cria on the same base; compares
/// the logits after the prompt and the greedy continuation step by step.
/// </summary>
internal static class LoraMode
{
    public static int Run(Options o)
    {
        string model = o.Required("model");
        string adapterPath = o.Required("adapter");
        float scale = float.Parse(o.String("scale") ?? "1", CultureInfo.InvariantCulture);
        string prompt = o.String("prompt") ?? "Once upon a time";
        int gen = o.Int("gen", 16);
        o.ThrowIfUnused();
        LlamaCppEngine.ConfigureLogging(verbose: false);
        using var llama = new LlamaCppEngine(model, new LlamaCppSettings(512, 64, 1, KvCacheType.F32, FlashAttention: false));
        llama.SetAdapter(adapterPath, scale);
        using LocalModel cria = LocalModel.Load(model);
        InferenceContext ctx = cria.Model.CreateContext(512, cacheType: KvCacheType.F32);
        ctx.SetAdapters([new ActiveAdapter(LoraAdapter.Load(adapterPath, cria.Model.Config), scale)]);

        int[] tokens = cria.Tokenizer.Encode(prompt, addSpecial: true);
        llama.Reset();
        float[] refRow = llama.Feed(tokens).ToArray();
        cria.Model.Forward(ctx, tokens);
        double worst = 0;
        int matched = 0;
        var text = new List<int>();
        for (int step = 0; step < gen; step++)
        {
            (double abs, double rel) = Logits.Difference(ctx.Logits, refRow);
            worst = Math.Max(worst, rel);
            int mine = Logits.Argmax(ctx.Logits);
            int theirs = Logits.Argmax(refRow);
            if (mine != theirs)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  step {step}: greedy differs (cria {mine}, llama.cpp {theirs}, reference margin {Logits.Margin(refRow):G4})"));
                break;
            }
            matched++;
            text.Add(mine);
            refRow = llama.Feed([mine]).ToArray();
            cria.Model.Forward(ctx, [mine]);
        }
        Console.WriteLine($"  greedy text with the adapter: \"{cria.Tokenizer.Decode([.. text])}\"");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT lora adapter={Path.GetFileName(adapterPath)} greedy_match={matched}/{gen} max_rel_logit_diff={worst:G3}"));
        return matched == gen ? 0 : 1;
    }
}
