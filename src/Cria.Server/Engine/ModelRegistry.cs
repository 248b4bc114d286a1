using Cria.Core.Inference;
using Cria.Core.Templates;
using Cria.Numerics.Threading;
using Cria.Server.Http;

namespace Cria.Server.Engine;

/// <summary>A model the server offers: its name (file name without extension) and file.</summary>
public sealed record ModelEntry(string Name, string Path, long SizeBytes, DateTimeOffset ModifiedAt);

/// <summary>
/// The models named on the command line, loaded on first use and then kept. Invariant: each name
/// has at most one load in flight or done; a load that failed is forgotten so the next request retries.
/// </summary>
internal sealed class ModelRegistry : IDisposable
{
    private readonly Dictionary<string, ModelEntry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Task<ServedModel>> _loads = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ModelDetails> _details = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();
    private readonly ServerOptions _options;
    private readonly string? _templateOverride;
    private readonly ComputePool _pool;

    public ModelRegistry(ServerOptions options)
    {
        _options = options;
        IReadOnlyList<string> paths = options.ModelPaths.Count > 0 ? options.ModelPaths : [ServerOptions.BundledModelPath];
        var entries = new List<ModelEntry>();
        foreach (string path in paths)
        {
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                throw new FileNotFoundException(options.ModelPaths.Count > 0
                    ? $"model file not found: {path}"
                    : $"the bundled default model is missing at {path}; pass --model PATH", path);
            }
            string name = System.IO.Path.GetFileNameWithoutExtension(file.Name);
            var entry = new ModelEntry(name, file.FullName, file.Length, file.LastWriteTimeUtc);
            if (!_entries.TryAdd(name, entry))
            {
                throw new ArgumentException($"two models are named \"{name}\" ({_entries[name].Path} and {file.FullName}); rename one file");
            }
            entries.Add(entry);
        }
        Models = entries;
        _templateOverride = options.ChatTemplatePath is null ? null : File.ReadAllText(options.ChatTemplatePath);
        if (_templateOverride is not null)
        {
            _ = new ChatTemplate(_templateOverride); // a syntax error stops the server at start, not at the first request
        }
        _pool = options.Threads > 0 && options.Threads != ComputePool.DefaultThreads ? new ComputePool(options.Threads) : ComputePool.Shared;
    }

    /// <summary>The models in command-line order; the first is the default.</summary>
    public IReadOnlyList<ModelEntry> Models { get; }

    public bool TryGetEntry(string? name, out ModelEntry entry)
    {
        if (string.IsNullOrEmpty(name))
        {
            entry = Models[0];
            return true;
        }
        return _entries.TryGetValue(name, out entry!);
    }

    /// <summary>The file's architecture, size and quantization (read once from its header).</summary>
    public ModelDetails GetDetails(ModelEntry entry)
    {
        lock (_lock)
        {
            if (_details.TryGetValue(entry.Name, out ModelDetails? details))
            {
                return details;
            }
        }
        ModelDetails read = ModelDetails.Read(entry.Path);
        lock (_lock)
        {
            _details[entry.Name] = read;
        }
        return read;
    }

    /// <summary>Whether the model is loaded now.</summary>
    public bool IsLoaded(ModelEntry entry)
    {
        lock (_lock)
        {
            return _loads.TryGetValue(entry.Name, out Task<ServedModel>? load) && load.IsCompletedSuccessfully;
        }
    }

    /// <summary>The loaded model, loading it on first use; unknown names are a 404.</summary>
    public Task<ServedModel> GetAsync(string? name)
    {
        if (!TryGetEntry(name, out ModelEntry entry))
        {
            throw new ApiException(404, $"The model '{name}' does not exist. Models served: {string.Join(", ", Models.Select(m => m.Name))}",
                "model", "model_not_found");
        }
        lock (_lock)
        {
            if (_loads.TryGetValue(entry.Name, out Task<ServedModel>? load) && !load.IsFaulted)
            {
                return load;
            }
            load = Task.Run(() => Load(entry));
            _loads[entry.Name] = load;
            return load;
        }
    }

    private ServedModel Load(ModelEntry entry)
    {
        LocalModel local = LocalModel.Load(entry.Path, _pool);
        try
        {
            var template = ChatTemplate.FromGgufOrDefault(_templateOverride ?? local.ChatTemplateSource);
            int ctx = _options.ContextLength > 0 ? _options.ContextLength : Math.Min(local.Model.Config.ContextLength, 4096);
            return new ServedModel(entry.Name, local, template, ctx);
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
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
