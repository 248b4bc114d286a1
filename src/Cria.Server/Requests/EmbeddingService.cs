using Cria.Server.Auth;
using Cria.Server.Engine;
using Cria.Server.Http;

namespace Cria.Server.Requests;

/// <summary>The embeddings of a request: one unit-length vector per input, and the tokens read.</summary>
internal sealed record EmbeddingResult(ServedModel Model, float[][] Vectors, int PromptTokens);

/// <summary>
/// Embeddings for every dialect: check the caller's access to the model, tokenize each input, check it against the context (too long is a 400
/// that gives both numbers, never a silent cut), then take one generation slot and run
/// <see cref="Cria.Core.Models.LlamaModel.Embed"/> over the inputs on a pool thread, and charge the
/// tokens read to the caller.
/// </summary>
internal sealed class EmbeddingService(ModelRegistry models, GenerationSlots slots)
{
    /// <summary>The most inputs one request may carry (OpenAI's limit).</summary>
    public const int MaxInputs = 2048;

    public async Task<EmbeddingResult> EmbedAsync(string? modelName, IReadOnlyList<EmbeddingInput> inputs, string param, Caller caller, CancellationToken cancel)
    {
        caller.CheckUse(models, modelName);
        if (inputs.Count == 0)
        {
            throw ApiException.BadRequest("input must not be empty", param);
        }
        if (inputs.Count > MaxInputs)
        {
            throw ApiException.BadRequest($"input has {inputs.Count} items; at most {MaxInputs} are allowed", param);
        }
        using ModelLease lease = await models.AcquireAsync(modelName).ConfigureAwait(false);
        ServedModel model = lease.Model;
        var tokenizer = model.Local.Tokenizer;
        var token = new int[inputs.Count][];
        int total = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            int[] ids = inputs[i].Tokens ?? tokenizer.Encode(inputs[i].Text ?? "", addSpecial: true, parseSpecial: true);
            foreach (int id in ids)
            {
                if ((uint)id >= (uint)tokenizer.VocabSize)
                {
                    throw ApiException.BadRequest($"token id {id} is outside the vocabulary (0..{tokenizer.VocabSize - 1})", param);
                }
            }
            if (ids.Length == 0)
            {
                throw ApiException.BadRequest($"input {i} is empty", param);
            }
            if (ids.Length > model.ContextLength)
            {
                throw new ApiException(400, $"input {i} is {ids.Length} tokens but the context holds {model.ContextLength}; shorten it or start the server with a larger --ctx",
                    param, "context_length_exceeded");
            }
            token[i] = ids;
            total += ids.Length;
        }
        using IDisposable slot = await slots.AcquireAsync(cancel).ConfigureAwait(false);
        float[][] vectors = await Task.Run(() => Run(model, token, cancel), cancel).ConfigureAwait(false);
        caller.Charge(total);
        if (caller.Audit is { } audit)
        {
            audit.Model = model.Name;
            audit.PromptTokens = total;
        }
        return new EmbeddingResult(model, vectors, total);
    }

    private static float[][] Run(ServedModel model, int[][] inputs, CancellationToken cancel)
    {
        int dim = model.Local.Model.Config.EmbeddingLength;
        var vectors = new float[inputs.Length][];
        var ctx = model.RentPrivateContext();
        try
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                cancel.ThrowIfCancellationRequested();
                vectors[i] = new float[dim];
                model.Local.Model.Embed(ctx, inputs[i], vectors[i]);
            }
        }
        finally
        {
            model.ReturnPrivateContext(ctx);
        }
        return vectors;
    }
}
