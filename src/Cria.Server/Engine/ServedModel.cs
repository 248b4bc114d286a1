using System.Collections.Concurrent;

using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Server.Http;
using Cria.Server.Requests;
using Cria.Server.Structured;
using Cria.Templates;

using Microsoft.Extensions.Logging;

namespace Cria.Server.Engine;

/// <summary>
/// A loaded model as the server uses it: the model, its chat template and a pool of sequence slots
/// (<see cref="InferenceContext"/>s, each allocated once and reused). Invariant: a context is held by
/// at most one generation; the scheduler bounds how many are rented at once, so the pool never holds
/// more than <c>--parallel</c> contexts. The lease count and times are changed only under the
/// registry's lock.
/// </summary>
internal sealed class ServedModel : IDisposable
{
    private readonly List<InferenceContext> _free = [];
    private readonly List<InferenceContext> _privateFree = [];
    private readonly Lock _freeLock = new();
    private readonly ConcurrentDictionary<InferenceContext, byte> _rented = new(ReferenceEqualityComparer.Instance);
    private readonly string _bosText;
    private readonly string _eosText;

    public ServedModel(ModelEntry entry, LocalModel local, ChatTemplate template, int contextLength, int parallel, TimeSpan pieceDelay = default,
        int kvBudgetTokens = 0, KvCacheType kvCacheType = KvCacheType.F16, ILogger? logger = null)
    {
        Entry = entry;
        Name = entry.Name;
        Local = local;
        Template = template;
        ContextLength = contextLength;
        var tokenizer = local.Tokenizer;
        _bosText = tokenizer.BosId >= 0 ? tokenizer.TokenText(tokenizer.BosId) : "";
        _eosText = tokenizer.EosId >= 0 ? tokenizer.TokenText(tokenizer.EosId) : "";
        // A template-less model gets ChatML; when its vocabulary has no <|im_end|> token, the end of
        // the assistant turn can only show up as text, so it is a stop string.
        TemplateStops = template.IsDefault && !tokenizer.TryGetId("<|im_end|>", out _) ? ["<|im_end|>"] : [];
        var config = local.Model.Config;
        // One paged KV pool for every sequence of this model: --ctx × --parallel positions, or --kv-budget,
        // but never less than one whole context (so a lone sequence always fits).
        long tokens = kvBudgetTokens > 0 ? Math.Max(kvBudgetTokens, contextLength) : (long)contextLength * parallel;
        int blocks = (int)Math.Min(int.MaxValue, (tokens + KvPool.DefaultBlockSize - 1) / KvPool.DefaultBlockSize);
        try
        {
            KvPool = new KvPool(config, blocks, kvCacheType);
        }
        catch (NotSupportedException e)
        {
            throw new ApiException(500, $"model '{entry.Name}' cannot be served with --kv-type {kvCacheType.ToString().ToLowerInvariant()}: {e.Message}", "model", "kv_type_unsupported");
        }
        MemoryBytes = entry.SizeBytes + KvPool.Bytes;
        KvCapacityTokens = (long)blocks * KvPool.BlockSize;
        LoadedAt = DateTimeOffset.UtcNow;
        LastUsed = LoadedAt;
        ExpiresAt = DateTimeOffset.MaxValue;
        Engine = new BatchEngine(this, parallel, pieceDelay, logger);
    }

    private readonly ConcurrentDictionary<string, Lazy<LoraAdapter>> _adapters = new(StringComparer.Ordinal);

    /// <summary>An adapter loaded for this model (once; a file that does not fit is a 400 naming why).</summary>
    public ActiveAdapter Adapter(string name, string path)
    {
        Lazy<LoraAdapter> lazy = _adapters.GetOrAdd(name, n => new Lazy<LoraAdapter>(() => LoraAdapter.Load(path, Local.Model.Config, n)));
        try
        {
            return new ActiveAdapter(lazy.Value);
        }
        catch (ModelException e)
        {
            _adapters.TryRemove(name, out _);
            throw new ApiException(400, $"adapter '{name}' cannot be applied to '{Name}': {e.Message}", "model", "adapter_mismatch");
        }
    }

    /// <summary>Steps this model's generations together (continuous batching).</summary>
    public BatchEngine Engine { get; }

    /// <summary>The paged KV cache all of this model's generations draw blocks from.</summary>
    public KvPool KvPool { get; }

    private int _preemptions;

    /// <summary>Sequences preempted (blocks taken back, recomputed later) since the model loaded.</summary>
    public int Preemptions => Volatile.Read(ref _preemptions);

    internal void OnPreempted() => Interlocked.Increment(ref _preemptions);

    public ModelEntry Entry { get; }

    public string Name { get; }

    /// <summary>What the model takes in memory when every sequence slot is in use: the file plus the f16 KV caches.</summary>
    public long MemoryBytes { get; }

    /// <summary>Tokens all sequence slots hold together.</summary>
    public long KvCapacityTokens { get; }

    public DateTimeOffset LoadedAt { get; }

    /// <summary>Generations and embeddings holding the model now.</summary>
    public int Leases { get; private set; }

    /// <summary>When the last lease ended (or the load, before any).</summary>
    public DateTimeOffset LastUsed { get; private set; }

    /// <summary>When the model is unloaded if no lease is taken before; MaxValue: never (or while leased).</summary>
    public DateTimeOffset ExpiresAt { get; private set; }

    internal void AddLease()
    {
        Leases++;
        ExpiresAt = DateTimeOffset.MaxValue;
    }

    internal void RemoveLease(TimeSpan keepAlive)
    {
        Leases--;
        LastUsed = DateTimeOffset.UtcNow;
        if (Leases == 0)
        {
            // Saturating: a keep-alive past the calendar's end means never, not an overflow.
            ExpiresAt = keepAlive < TimeSpan.Zero || keepAlive >= DateTimeOffset.MaxValue - LastUsed ? DateTimeOffset.MaxValue : LastUsed + keepAlive;
        }
    }

    public LocalModel Local { get; }

    public ChatTemplate Template { get; }

    /// <summary>Tokens one sequence slot holds: prompt plus generated text.</summary>
    public int ContextLength { get; }

    /// <summary>Stop strings every chat generation gets from the template.</summary>
    public IReadOnlyList<string> TemplateStops { get; }

    /// <summary>
    /// The prompt's token ids. A conversation is rendered with the chat template (which cuts a leading
    /// BOS text, so the tokenizer's own BOS is the only one); control tokens written in the text are parsed.
    /// </summary>
    /// <exception cref="TemplateException">The template failed.</exception>
    public int[] Tokenize(GenerationRequest request)
    {
        var tokenizer = Local.Tokenizer;
        if (request.PromptTokens is { } ids)
        {
            return CheckIds(ids, "prompt");
        }
        string text = request.Messages is { } messages
            ? Template.Render(messages, addGenerationPrompt: true, _bosText, _eosText, OfferedTools(request))
            : request.Prompt ?? "";
        if (request.Context is { Count: > 0 } context)
        {
            // Ollama's "context": the tokens of the previous exchange, which already begin with BOS.
            return [.. CheckIds(context, "context"), .. tokenizer.Encode(text, addSpecial: false, parseSpecial: true)];
        }
        return tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
    }

    /// <summary>How this model writes tool calls (from its template's syntax).</summary>
    public ToolCallFormat ToolFormat => ToolCalls.DetectFormat(Template.Source);

    /// <summary>The tools to render, or null; a template that cannot show tools is a 400, never a silent drop.</summary>
    private System.Text.Json.JsonElement? OfferedTools(GenerationRequest request)
    {
        if (request.Tools is not { Choice: not ToolChoiceMode.None } tools)
        {
            return null;
        }
        if (!Template.SupportsTools)
        {
            throw new ApiException(400, $"the chat template of '{Name}' does not render tools, so the model would never see them; use a model whose template supports tools, or pass one with --chat-template",
                "tools", "tools_not_supported");
        }
        return tools.Tools;
    }

    private int[] CheckIds(IReadOnlyList<int> ids, string param)
    {
        int vocab = Local.Tokenizer.VocabSize;
        int[] copy = [.. ids];
        foreach (int id in copy)
        {
            if ((uint)id >= (uint)vocab)
            {
                throw ApiException.BadRequest($"token id {id} in '{param}' is outside the vocabulary (0..{vocab - 1})", param);
            }
        }
        return copy;
    }

    /// <summary>
    /// A sequence slot: an empty context over the model's shared KV pool (prefixes are found in the pool
    /// by content, see <see cref="InferenceContext.AttachCachedPrefix"/>), with the adapters set.
    /// </summary>
    public InferenceContext RentContext(IReadOnlyList<ActiveAdapter>? adapters = null)
    {
        InferenceContext? ctx = null;
        lock (_freeLock)
        {
            if (_free.Count > 0)
            {
                ctx = _free[^1];
                _free.RemoveAt(_free.Count - 1);
            }
        }
        ctx ??= new InferenceContext(Local.Model.Config, Local.Model.VocabSize, ContextLength, Math.Min(64, ContextLength), KvPool);
        if (!_rented.TryAdd(ctx, 0))
        {
            throw new InvalidOperationException("a context was in the free list while rented; it would serve two sequences");
        }
        ctx.SetAdapters(adapters);
        return ctx;
    }

    /// <summary>A context with a cache of its own (embeddings: they must not wait for, or take, generation blocks).</summary>
    public InferenceContext RentPrivateContext()
    {
        lock (_freeLock)
        {
            if (_privateFree.Count > 0)
            {
                InferenceContext ctx = _privateFree[^1];
                _privateFree.RemoveAt(_privateFree.Count - 1);
                return ctx;
            }
        }
        return Local.Model.CreateContext(ContextLength, cacheType: KvPool.CacheType);
    }

    public void ReturnPrivateContext(InferenceContext ctx)
    {
        ctx.Reset();
        lock (_freeLock)
        {
            _privateFree.Add(ctx);
        }
    }

    /// <summary>Contexts rented now (each is one running sequence or embedding).</summary>
    public int RentedContexts => _rented.Count;

    /// <summary>Contexts made so far (rented or free); bounded by the scheduler's slots.</summary>
    public int CreatedContexts
    {
        get
        {
            lock (_freeLock)
            {
                return _free.Count + _rented.Count;
            }
        }
    }

    /// <summary>Gives a slot back: its blocks return to the pool (full ones stay findable by content).</summary>
    /// <remarks>A context that is not rented (given back twice) is refused, so one context can never serve two sequences.</remarks>
    public void ReturnContext(InferenceContext ctx)
    {
        if (!_rented.TryRemove(ctx, out _))
        {
            throw new InvalidOperationException("a context was given back that is not rented (given back twice?)");
        }
        ctx.Reset();
        lock (_freeLock)
        {
            _free.Add(ctx);
        }
    }


    /// <summary>Positions held in the KV pool by running sequences (whole blocks; a momentary reading, for /metrics).</summary>
    public long KvTokensInUse => (long)KvPool.BlocksInUse * KvPool.BlockSize;

    public void Dispose()
    {
        Engine.Dispose();
        Local.Dispose();
    }
}
