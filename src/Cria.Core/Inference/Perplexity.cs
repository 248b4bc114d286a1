using Cria.Core.Models;

namespace Cria.Core.Inference;

/// <summary>Result of a perplexity run.</summary>
public sealed record PerplexityResult(double Perplexity, double Uncertainty, int Chunks, int ScoredTokens);

/// <summary>
/// Perplexity the way llama.cpp's llama-perplexity measures it: the text is tokenized once (with
/// BOS when the model adds one) and cut into consecutive chunks of n_ctx tokens; each chunk is
/// evaluated from an empty cache with its first token replaced by BOS, and only the second half
/// of each chunk is scored (positions n_ctx/2 … n_ctx−2 predicting the next token), so every
/// scored token has at least n_ctx/2 tokens of context.
/// PPL = exp(mean NLL); uncertainty = PPL · sqrt(var(NLL) / (count − 1)).
/// </summary>
public static class Perplexity
{
    public static PerplexityResult Run(LlamaModel model, IReadOnlyList<int> tokens, int ctxLength, int bos, int maxChunks = -1,
        Action<int, int, double>? progress = null, CancellationToken cancel = default, KvCacheType cacheType = KvCacheType.F16)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        if (ctxLength < 4)
        {
            throw new ArgumentException($"context {ctxLength} is too small for perplexity");
        }
        if (tokens.Count < 2 * ctxLength)
        {
            throw new ArgumentException($"the text is {tokens.Count} tokens; perplexity with a context of {ctxLength} needs at least {2 * ctxLength}");
        }
        int chunks = tokens.Count / ctxLength;
        if (maxChunks > 0)
        {
            chunks = Math.Min(chunks, maxChunks);
        }
        int vocab = model.VocabSize;
        InferenceContext ctx = model.CreateContext(ctxLength, maxBatch: Math.Min(ctxLength, 512), cacheType: cacheType);
        var logits = new float[(long)ctxLength * vocab];
        var batch = new int[ctxLength];
        int first = ctxLength / 2;
        double nll = 0, nll2 = 0;
        int count = 0;
        for (int c = 0; c < chunks; c++)
        {
            cancel.ThrowIfCancellationRequested();
            int start = c * ctxLength;
            for (int j = 0; j < ctxLength; j++)
            {
                batch[j] = tokens[start + j];
            }
            if (bos >= 0)
            {
                batch[0] = bos;
            }
            ctx.Reset();
            model.Forward(ctx, batch, logits);
            for (int j = first; j < ctxLength - 1; j++)
            {
                ReadOnlySpan<float> row = logits.AsSpan(j * vocab, vocab);
                double v = -LogSoftmaxAt(row, tokens[start + j + 1]);
                nll += v;
                nll2 += v * v;
                count++;
            }
            progress?.Invoke(c + 1, chunks, Math.Exp(nll / count));
        }
        double mean = nll / count;
        double mean2 = nll2 / count - mean * mean;
        double ppl = Math.Exp(mean);
        double err = mean2 > 0 && count > 1 ? Math.Sqrt(mean2 / (count - 1)) * ppl : 0;
        return new PerplexityResult(ppl, err, chunks, count);
    }

    /// <summary>log softmax(row)[target], with the max subtracted for stability.</summary>
    private static double LogSoftmaxAt(ReadOnlySpan<float> row, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float v in row)
        {
            max = Math.Max(max, v);
        }
        double sum = 0;
        foreach (float v in row)
        {
            sum += Math.Exp(v - max);
        }
        return row[target] - max - Math.Log(sum);
    }
}
