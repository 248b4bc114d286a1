using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Core.Sampling;
using Cria.Guard.Policy;
using Cria.Guard.Rails;
using Cria.Server.Auth;
using Cria.Server.Engine;
using Cria.Server.Guard;
using Cria.Server.Http;
using Cria.Server.Structured;
using Cria.Server.Telemetry;

namespace Cria.Server.Requests;

/// <summary>
/// The one request lifecycle every dialect shares, in order: the caller's access to the model (403),
/// the model's lease (loaded on first use), the prompt built and checked against the context (400),
/// the guard's input rail (400 <c>content_filter</c>, or the redacted request the model sees),
/// a generation slot (admission: wait, or 429 when the line is full), the run handed to the model's
/// engine; then, when the handler disposes the run, cancellation if it is still going, the tokens
/// charged to the caller's key and one request-log line. Nothing here knows about JSON: a dialect's
/// handler maps its request in, <c>await using</c>s the run, and maps the pieces out.
/// </summary>
internal sealed class GenerationService(ModelRegistry models, GenerationSlots slots, ServerMetrics metrics, RequestLog log, ServerOptions options, CancellationToken stopping,
    GuardRails? guard = null)
{
    public GuardRails Guard { get; } = guard ?? new GuardRails(options.Guard, metrics);

    public ModelRegistry Models => models;

    public ServerOptions Options => options;

    /// <summary>Starts a generation; errors the client caused are <see cref="ApiException"/>s. Dispose the run when the response is done.</summary>
    /// <param name="request">The request in Cria's terms.</param>
    /// <param name="caller">Who asks: checked for access to the model, charged and logged when the run is disposed.</param>
    /// <param name="cancel">Cancels the wait for a slot and, later, the generation itself (as does the server stopping).</param>
    public async Task<GenerationRun> StartAsync(GenerationRequest request, Caller caller, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        caller.CheckUse(models, request.Model);
        DateTimeOffset arrived = DateTimeOffset.UtcNow;
        // The guard's input rail before anything is loaded: a block is a 400 and nothing is generated.
        GuardPolicy policy = Guard.Resolve(Guard.Enabled ? models.Find(request.Model).Name : null, caller.Key?.Name);
        var redactor = new Redactor();
        request = await Guard.CheckInputAsync(request, policy, redactor, caller.Audit, cancel).ConfigureAwait(false);
        OutputGuard? output = Guard.ForOutput(policy, redactor, caller.Audit);
        IReadOnlyList<string> adapterNames = models.AdapterNames(request.Model, request.Adapters);
        ModelLease lease = await models.AcquireAsync(request.Model, request.KeepAlive).ConfigureAwait(false);
        try
        {
            return await StartAsync(request, caller, lease, adapterNames, arrived, output, cancel).ConfigureAwait(false);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private async Task<GenerationRun> StartAsync(GenerationRequest request, Caller caller, ModelLease lease, IReadOnlyList<string> adapterNames, DateTimeOffset arrived,
        OutputGuard? output, CancellationToken cancel)
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
        // --max-tokens clamps what a request asks for (finish reason "length" when reached) and is the default when it asks for nothing.
        int cap = options.MaxTokens > 0 ? options.MaxTokens : int.MaxValue;
        int maxTokens = request.MaxTokens is { } asked ? Math.Min(asked, cap) : Math.Min(ctx - prompt.Length, cap);
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
        if (sampling.PenaltyLastN > ctx)
        {
            // A window past the context means the whole context (as -1 does); the sampler sizes its ring from it.
            sampling = sampling with { PenaltyLastN = ctx };
        }
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
            IDisposable slot = await slots.AcquireAsync(linked.Token).ConfigureAwait(false);
            var run = new GenerationRun(model, prompt, generation, slot, lease, metrics, linked, arrived) { Adapters = adapters, Caller = caller, Log = log, Guard = output };
            try
            {
                model.Engine.Submit(run);
            }
            catch
            {
                slot.Dispose();
                metrics.OnFinished(0, 0, FinishReason.Error);
                throw;
            }
            return run;
        }
        catch
        {
            linked.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Ollama's load request (an empty prompt or chat): loads the model and holds it for
    /// <paramref name="keepAlive"/> (null: the server's default), or with a keep-alive of zero unloads
    /// it now (409 while generations run on it). Returns whether it unloaded.
    /// </summary>
    public async Task<(ModelEntry Entry, bool Unloaded)> LoadOrUnloadAsync(string? name, TimeSpan? keepAlive, Caller caller)
    {
        caller.CheckUse(models, name);
        ModelEntry entry = models.Find(name);
        if (keepAlive == TimeSpan.Zero)
        {
            if (models.IsLoaded(entry) && !models.TryUnload(entry))
            {
                throw new ApiException(409, $"model '{entry.Name}' is in use; it is unloaded when its running requests end", "model", "model_busy");
            }
            return (entry, true);
        }
        using ModelLease lease = await models.AcquireAsync(name, keepAlive).ConfigureAwait(false);
        return (entry, false);
    }
}
