namespace Cria.Bench;

/// <summary>
/// Perplexity of the llama.cpp peer by the method of Cria.Core.Inference.Perplexity (which is
/// llama-perplexity's): consecutive chunks of n_ctx tokens, each from an empty cache with its first
/// token replaced by BOS, positions n_ctx/2 … n_ctx−2 scored against the next token;
/// PPL = exp(mean NLL). Logits of every position come from one llama_decode per chunk.
/// </summary>
internal static class LlamaCppPerplexity
{
    public static (double Perplexity, int Chunks, int Scored) Run(LlamaCppEngine engine, IReadOnlyList<int> tokens, int ctxLength, int bos, int maxChunks)
    {
        int chunks = tokens.Count / ctxLength;
        if (maxChunks > 0)
        {
            chunks = Math.Min(chunks, maxChunks);
        }
        int vocab = engine.VocabSize;
        var logits = new float[ctxLength * vocab];
        var batch = new int[ctxLength];
        int first = ctxLength / 2;
        double nll = 0;
        int count = 0;
        for (int c = 0; c < chunks; c++)
        {
            int start = c * ctxLength;
            for (int j = 0; j < ctxLength; j++)
            {
                batch[j] = tokens[start + j];
            }
            if (bos >= 0)
            {
                batch[0] = bos;
            }
            engine.Reset();
            engine.FeedAll(batch, logits);
            for (int j = first; j < ctxLength - 1; j++)
            {
                nll += Logits.Nll(logits.AsSpan(j * vocab, vocab), tokens[start + j + 1]);
                count++;
            }
        }
        return (Math.Exp(nll / count), chunks, count);
    }
}
