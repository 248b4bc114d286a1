using System.Globalization;

using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Cli;

/// <summary>One model loaded for <c>cria run</c>: a single generation or an interactive loop.</summary>
internal sealed class RunSession(LocalModel model, int contextLength, GenerationOptions options, bool verbose, KvCacheType cacheType,
    IReadOnlyList<ActiveAdapter>? adapters = null)
{
    private readonly InferenceContext _ctx = CreateContext(model, contextLength, cacheType, adapters);

    private static InferenceContext CreateContext(LocalModel model, int contextLength, KvCacheType cacheType, IReadOnlyList<ActiveAdapter>? adapters)
    {
        InferenceContext ctx = model.Model.CreateContext(contextLength, cacheType: cacheType);
        ctx.SetAdapters(adapters);
        return ctx;
    }

    private readonly Generator _generator = new(model.Model, model.Tokenizer);

    public void Generate(string prompt, CancellationToken cancel = default)
    {
        int[] ids = model.Tokenizer.Encode(prompt, addSpecial: true);
        if (ids.Length == 0)
        {
            throw new UserException("the prompt encodes to no tokens and the model adds no BOS");
        }
        if (ids.Length >= contextLength)
        {
            throw new UserException($"the prompt is {ids.Length} tokens but the context holds {contextLength}; use a shorter prompt or a larger --ctx");
        }
        var stats = new GenerationStats();
        TextWriter stdout = Console.Out;
        foreach (string piece in _generator.Generate(_ctx, ids, options, stats, cancel))
        {
            stdout.Write(piece);
            stdout.Flush();
        }
        stdout.WriteLine();
        if (verbose)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"prompt: {stats.PromptTokens} tokens, {stats.PromptTokensPerSecond:F1} tok/s; generated: {stats.GeneratedTokens} tokens, {stats.TokensPerSecond:F1} tok/s; finish: {stats.FinishReason}"));
        }
    }

    public int Interactive()
    {
        Console.Error.WriteLine($"cria: {Path.GetFileName(model.FilePath)} loaded. Type a prompt and press Enter; Ctrl+D or /bye to quit.");
        using var cts = new CancellationTokenSource();
        CancellationTokenSource? current = null;
        Console.CancelKeyPress += (_, e) =>
        {
            if (current is not null)
            {
                e.Cancel = true;
                current.Cancel();
            }
        };
        while (true)
        {
            Console.Error.Write(">>> ");
            string? line = Console.ReadLine();
            if (line is null || line.Trim() == "/bye")
            {
                return 0;
            }
            if (line.Length == 0)
            {
                continue;
            }
            current = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            try
            {
                Generate(line, current.Token);
            }
            catch (UserException e)
            {
                Console.Error.WriteLine($"cria: error: {e.Message}");
            }
            finally
            {
                current.Dispose();
                current = null;
            }
        }
    }
}
