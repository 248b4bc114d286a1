using Cria.Core.Gguf;
using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Numerics.Threading;
using Cria.Server.Http;
using Cria.Templates;

using Microsoft.Extensions.Logging;

namespace Cria.Server.Engine;

/// <summary>A model the server offers: its name (file name without extension, or the name given with NAME=PATH) and file.</summary>
public sealed record ModelEntry(string Name, string Path, long SizeBytes, DateTimeOffset ModifiedAt);

/// <summary>A loaded model in use; dispose to give it back (the model may be unloaded once no lease is out and its keep-alive ran out).</summary>
internal sealed class ModelLease(ServedModel model, ModelRegistry owner, TimeSpan keepAlive) : IDisposable
{
    private int _released;

    public ServedModel Model { get; } = model;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            owner.Release(Model, keepAlive);
        }
    }
}

/// <summary>
/// The models named on the command line, loaded on first use and unloaded when idle, like Ollama.
/// Invariants: each name has at most one load in flight or done; a load that failed is forgotten so the
/// next request retries; a model is unloaded only while no lease on it is out (so no generation or
/// embedding can be using it) and either its keep-alive has run out or room is needed for another model
/// under <c>--max-loaded</c> / <c>--memory-budget</c>, least recently used first.
/// </summary>
internal sealed class ModelRegistry : IDisposable
{
    private readonly Dictionary<string, ModelEntry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Task<ServedModel>> _loads = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ModelFacts> _details = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();
    private readonly ServerOptions _options;
    private readonly string? _templateOverride;
    private readonly ComputePool _pool;
    private readonly Timer _reaper;
    private bool _disposed;

    /// <summary>
    /// Refuses at start-up, from the file's header alone (no weights are read), a model that cannot
    /// use the server's KV cache type — rather than answering its first request with an error. A
    /// header that does not parse is left to the load, which reports it per request as before.
    /// </summary>
    private static void CheckCacheType(string name, string path, KvCacheType cacheType)
    {
        if (cacheType == KvCacheType.F16 || cacheType == KvCacheType.F32)
        {
            return;
        }
        ModelConfig config;
        try
        {
            using GgufFile file = GgufFile.Open(path);
            config = ModelConfig.FromGguf(file);
        }
        catch (Exception e) when (e is GgufFormatException or ModelException)
        {
            return;
        }
        try
        {
            KvPool.CheckCacheType(config, cacheType);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException($"model '{name}' ({path}) cannot be served with --kv-type {cacheType.ToString().ToLowerInvariant()}: {e.Message}", e);
        }
    }

    public ModelRegistry(ServerOptions options)
    {
        _options = options;
        var entries = new List<ModelEntry>();
        IReadOnlyList<string> specs = options.ModelPaths.Count > 0 ? options.ModelPaths : [ServerOptions.BundledModelPath];
        foreach (string spec in specs)
        {
            (string? given, string path) = ServerOptions.SplitModelSpec(spec);
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                throw new FileNotFoundException(options.ModelPaths.Count > 0
                    ? $"model file not found: {path}"
                    : $"the bundled default model is missing at {path}; pass --model PATH", path);
            }
            string name = given ?? System.IO.Path.GetFileNameWithoutExtension(file.Name);
            CheckCacheType(name, file.FullName, options.KvCacheType);
            var entry = new ModelEntry(name, file.FullName, file.Length, file.LastWriteTimeUtc);
            if (!_entries.TryAdd(name, entry))
            {
                throw new ArgumentException($"two models are named \"{name}\" ({_entries[name].Path} and {file.FullName}); name one with --model NAME=PATH");
            }
            entries.Add(entry);
        }
        foreach ((string alias, string target) in options.Aliases)
        {
            if (_entries.ContainsKey(alias))
            {
                throw new ArgumentException($"--alias {alias}={target}: \"{alias}\" is already a model's name");
            }
            if (!_entries.ContainsKey(target))
            {
                throw new ArgumentException($"--alias {alias}={target}: no model is named \"{target}\" (models: {string.Join(", ", _entries.Keys)})");
            }
            _aliases[alias] = target;
        }
        Models = entries;
        _templateOverride = options.ChatTemplatePath is null ? null : File.ReadAllText(options.ChatTemplatePath);
        if (_templateOverride is not null)
        {
            _ = new ChatTemplate(_templateOverride); // a syntax error stops the server at start, not at the first request
        }
        _pool = options.Threads > 0 && options.Threads != ComputePool.DefaultThreads ? new ComputePool(options.Threads) : ComputePool.Shared;
        _reaper = new Timer(_ => UnloadExpired(), null, ReaperPeriod, ReaperPeriod);
    }

    /// <summary>Where the engines of models loaded from now on log their failures (set once the host's logging exists).</summary>
    public ILogger? Logger { get; set; }

    private static TimeSpan ReaperPeriod => TimeSpan.FromMilliseconds(250);

    /// <summary>The models in command-line order; the first is the default.</summary>
    public IReadOnlyList<ModelEntry> Models { get; }

    /// <summary>Aliases (<c>--alias A=NAME</c>) to model names.</summary>
    public IReadOnlyDictionary<string, string> Aliases => _aliases;

    /// <summary>Finds a model by name or alias (a <c>+adapter</c> suffix is ignored); null or empty means the default (first) model.</summary>
    public bool TryGetEntry(string? name, out ModelEntry entry)
    {
        int plus = name?.IndexOf('+', StringComparison.Ordinal) ?? -1;
        if (plus > 0)
        {
            name = name![..plus];
        }
        if (string.IsNullOrEmpty(name))
        {
            entry = Models[0];
            return true;
        }
        if (_aliases.TryGetValue(name, out string? target))
        {
            name = target;
        }
        return _entries.TryGetValue(name, out entry!);
    }

    /// <summary>The file's architecture, size and quantization (read once from its header).</summary>
    public ModelFacts GetDetails(ModelEntry entry)
    {
        lock (_lock)
        {
            if (_details.TryGetValue(entry.Name, out ModelFacts? details))
            {
                return details;
            }
        }
        ModelFacts read = ModelFacts.Read(entry.Path);
        lock (_lock)
        {
            _details[entry.Name] = read;
        }
        return read;
    }

    /// <summary>Whether the model is loaded now.</summary>
    public bool IsLoaded(ModelEntry entry) => TryGetLoaded(entry, out _);

    /// <summary>The model if it is loaded now.</summary>
    public bool TryGetLoaded(ModelEntry entry, out ServedModel model)
    {
        lock (_lock)
        {
            if (_loads.TryGetValue(entry.Name, out Task<ServedModel>? load) && load.IsCompletedSuccessfully)
            {
                model = load.Result;
                return true;
            }
        }
        model = null!;
        return false;
    }

    /// <summary>The models in memory now.</summary>
    public IReadOnlyList<ServedModel> Loaded()
    {
        lock (_lock)
        {
            return [.. _loads.Values.Where(l => l.IsCompletedSuccessfully).Select(l => l.Result)];
        }
    }

    /// <summary>
    /// The adapters a request asks for: the model's own (<see cref="ServerOptions.ModelAdapters"/>), then
    /// those named in the model as <c>base+a+b</c>, then <paramref name="extra"/>; unknown names are a 404.
    /// </summary>
    public IReadOnlyList<string> AdapterNames(string? model, IReadOnlyList<string>? extra)
    {
        var names = new List<string>();
        ModelEntry entry = Find(model);
        if (_options.ModelAdapters.TryGetValue(entry.Name, out IReadOnlyList<string>? own))
        {
            names.AddRange(own);
        }
        int plus = model?.IndexOf('+', StringComparison.Ordinal) ?? -1;
        if (plus > 0)
        {
            names.AddRange(model![(plus + 1)..].Split('+'));
        }
        names.AddRange(extra ?? []);
        foreach (string name in names)
        {
            if (!_options.Adapters.ContainsKey(name))
            {
                throw new ApiException(404, $"no adapter is named '{name}'. Adapters: {(_options.Adapters.Count == 0 ? "none (start the server with --adapter NAME=FILE)" : string.Join(", ", _options.Adapters.Keys))}",
                    "model", "adapter_not_found");
            }
        }
        return names;
    }

    /// <summary>The adapter files by name (<c>--adapter NAME=FILE</c>).</summary>
    public IReadOnlyDictionary<string, string> AdapterFiles => _options.Adapters;

    /// <summary>Throws the 404 for a name that is neither a model nor an alias.</summary>
    public ModelEntry Find(string? name) => TryGetEntry(name, out ModelEntry entry)
        ? entry
        : throw new ApiException(404, $"The model '{name}' does not exist. Models served: {string.Join(", ", Models.Select(m => m.Name))}",
            "model", "model_not_found");

    /// <summary>
    /// The loaded model, loading it on first use, held until the lease is disposed; unknown names are a 404.
    /// </summary>
    /// <param name="name">A model name or alias; null: the default model.</param>
    /// <param name="keepAlive">How long the model stays loaded after this lease ends (null: the server's <c>--keep-alive</c>; negative: forever).</param>
    public async Task<ModelLease> AcquireAsync(string? name, TimeSpan? keepAlive = null)
    {
        ModelEntry entry = Find(name);
        while (true)
        {
            Task<ServedModel> load = StartLoad(entry);
            ServedModel model = await load.ConfigureAwait(false);
            lock (_lock)
            {
                // The model may have been unloaded between the load finishing and this line; then load it again.
                if (_loads.TryGetValue(entry.Name, out Task<ServedModel>? current) && current == load)
                {
                    model.AddLease();
                    return new ModelLease(model, this, keepAlive ?? _options.KeepAlive);
                }
            }
        }
    }

    /// <summary>Unloads a model now if no lease is out (Ollama's <c>keep_alive: 0</c> with an empty prompt); false if it is busy or not loaded.</summary>
    public bool TryUnload(ModelEntry entry)
    {
        ServedModel? victim = null;
        lock (_lock)
        {
            if (_loads.TryGetValue(entry.Name, out Task<ServedModel>? load) && load.IsCompletedSuccessfully && load.Result.Leases == 0)
            {
                victim = load.Result;
                _loads.Remove(entry.Name);
            }
        }
        victim?.Dispose();
        return victim is not null;
    }

    internal void Release(ServedModel model, TimeSpan keepAlive)
    {
        lock (_lock)
        {
            model.RemoveLease(keepAlive);
        }
        if (keepAlive == TimeSpan.Zero)
        {
            UnloadExpired();
        }
    }

    private Task<ServedModel> StartLoad(ModelEntry entry)
    {
        List<ServedModel> evicted;
        Task<ServedModel> load;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loads.TryGetValue(entry.Name, out Task<ServedModel>? existing) && !existing.IsFaulted)
            {
                return existing;
            }
            evicted = MakeRoomFor(entry);
            load = Task.Run(() => Load(entry));
            _loads[entry.Name] = load;
        }
        foreach (ServedModel model in evicted)
        {
            model.Dispose();
        }
        return load;
    }

    /// <summary>Takes idle models out, least recently used first, until <paramref name="entry"/> fits the limits. Under the lock.</summary>
    private List<ServedModel> MakeRoomFor(ModelEntry entry)
    {
        var evicted = new List<ServedModel>();
        while (true)
        {
            var loaded = _loads.Values.Where(l => l.IsCompletedSuccessfully).Select(l => l.Result).ToList();
            int loading = _loads.Values.Count(l => !l.IsCompleted);
            long bytes = loaded.Sum(m => m.MemoryBytes) + entry.SizeBytes;
            bool countOk = _options.MaxLoadedModels <= 0 || loaded.Count + loading + 1 <= _options.MaxLoadedModels;
            bool memoryOk = _options.MemoryBudgetBytes <= 0 || bytes <= _options.MemoryBudgetBytes;
            if (countOk && memoryOk)
            {
                return evicted;
            }
            ServedModel? idle = loaded.Where(m => m.Leases == 0).MinBy(m => m.LastUsed);
            if (idle is null)
            {
                if (loaded.Count == 0 && loading == 0)
                {
                    return evicted; // alone, a model loads whatever its size: the OS pages a mapped file in as needed
                }
                string limit = !countOk
                    ? $"--max-loaded {_options.MaxLoadedModels} models are loaded"
                    : $"loading '{entry.Name}' ({entry.SizeBytes >> 20} MiB) would exceed the memory budget of {_options.MemoryBudgetBytes >> 20} MiB";
                throw new ApiException(503, $"{limit} and all are busy; retry when a running generation ends", "model", "server_busy", "server_error")
                {
                    RetryAfterSeconds = 2,
                };
            }
            _loads.Remove(idle.Name);
            evicted.Add(idle);
        }
    }

    private void UnloadExpired()
    {
        List<ServedModel> expired;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            DateTimeOffset now = DateTimeOffset.UtcNow;
            expired = [.. _loads.Values.Where(l => l.IsCompletedSuccessfully).Select(l => l.Result).Where(m => m.Leases == 0 && m.ExpiresAt <= now)];
            foreach (ServedModel model in expired)
            {
                _loads.Remove(model.Name);
            }
        }
        foreach (ServedModel model in expired)
        {
            model.Dispose();
        }
    }

    private ServedModel Load(ModelEntry entry)
    {
        LocalModel local = LocalModel.Load(entry.Path, _pool);
        try
        {
            var template = ChatTemplate.FromGgufOrDefault(_templateOverride ?? local.ChatTemplateSource);
            int ctx = _options.ContextLength > 0 ? _options.ContextLength : Math.Min(local.Model.Config.ContextLength, 4096);
            return new ServedModel(entry, local, template, ctx, _options.Parallel, _options.PieceDelay, _options.KvBudgetTokens, _options.KvCacheType,
                Logger);
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _reaper.Dispose();
        lock (_lock)
        {
            _disposed = true;
            foreach (Task<ServedModel> load in _loads.Values)
            {
                if (load.IsCompletedSuccessfully)
                {
                    load.Result.Dispose();
                }
            }
            _loads.Clear();
        }
        if (_pool != ComputePool.Shared)
        {
            _pool.Dispose();
        }
    }
}
