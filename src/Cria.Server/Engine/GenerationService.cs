using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Core.Sampling;
using Cria.Server.Http;

namespace Cria.Server.Engine;

/// <summary>
/// The path every dialect shares: pick the model, build the prompt, check it against the context,
/// wait for a slot, start the run. Nothing here knows about JSON.
/// </summary>
internal sealed class GenerationService(ModelRegistry models, GenerationScheduler scheduler, ServerMetrics metrics, ServerOptions options, CancellationToken stopping)
{
    public ModelRegistry Models => models;

    public ServerOptions Options => options;

    /// <summary>Starts a generation; errors the client caused are <see cref="ApiException"/>s.</summary>
    /// <param name="request">The request in Cria's terms.</param>
    /// <param name="cancel">Cancels the wait for a slot and, later, the generation itself (as does the server stopping).</param>
    public async Task<GenerationRun> StartAsync(GenerationRequest request, CancellationToken cancel)
    {
        DateTimeOffset arrived = DateTimeOffset.UtcNow;
        IReadOnlyList<string> adapterNames = models.AdapterNames(request.Model, request.Adapters);
        ModelLease lease = await models.AcquireAsync(request.Model, request.KeepAlive).ConfigureAwait(false);
        try
        {
            return await StartAsync(request, lease, adapterNames, arrived, cancel).ConfigureAwait(false);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private async Task<GenerationRun> StartAsync(GenerationRequest request, ModelLease lease, IReadOnlyList<string> adapterNames, DateTimeOffset arrived, CancellationToken cancel)
    {
        ServedModel model = lease.Model;
        ActiveAdapter[] adapters = [.. adapterNames.Select(n => model.Adapter(n, models.AdapterFiles[n]))];
        int[] prompt = model.Tokenize(request);
        if (prompt.Length == 0)
        {
            throw ApiException.BadRequest("the prompt is empty and the model adds no BOS token", "prompt");
        }
        int ctx = model.ContextLength;
        if (prompt.Length >= ctx)
        {
            throw new ApiException(400, $"the prompt is {prompt.Length} tokens but the context holds {ctx} (and at least one token must be generated); shorten the prompt or start the server with a larger --ctx",
                request.Messages is null ? "prompt" : "messages", "context_length_exceeded");
        }
        int maxTokens = request.MaxTokens ?? ctx - prompt.Length;
        if (prompt.Length + maxTokens > ctx)
        {
            throw new ApiException(400, $"the prompt is {prompt.Length} tokens and max_tokens is {maxTokens}: {prompt.Length + maxTokens} tokens exceed the context of {ctx}; lower max_tokens to at most {ctx - prompt.Length}",
                "max_tokens", "context_length_exceeded");
        }
        IReadOnlyList<string>? stop = request.Stop;
        if (request.Messages is not null && model.TemplateStops.Count > 0)
        {
            stop = [.. stop ?? [], .. model.TemplateStops];
        }
        SamplingOptions sampling = request.Sampling;
        if (Grammars.ForToolChoice(request.Tools, model.ToolFormat) is { } forced)
        {
            if (sampling.Grammar is not null)
            {
                throw ApiException.BadRequest("tool_choice required or a named function cannot be combined with response_format or grammar", "tool_choice");
            }
            sampling = sampling with { Grammar = forced };
        }
        var generation = new GenerationOptions { MaxTokens = maxTokens, Sampling = sampling, Stop = stop, Logprobs = request.Logprobs };
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, stopping);
        try
        {
            IDisposable slot = await scheduler.AcquireAsync(linked.Token).ConfigureAwait(false);
            var run = new GenerationRun(model, prompt, generation, slot, lease, metrics, linked, arrived) { Adapters = adapters };
            model.Engine.Submit(run);
            return run;
        }
        catch
        {
            linked.Dispose();
            throw;
        }
    }
}
