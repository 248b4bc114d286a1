using Cria.Guard.LlamaGuard;
using Cria.Guard.Policy;
using Cria.Server.Engine;

namespace Cria.Server.Guard;

/// <summary>
/// The guard models a policy's <c>llama_guard</c> checks name, loaded at server start and bound to their checks:
/// <c>model</c> is a GGUF path or the name of a model the server serves; each file is loaded once. A model that
/// cannot be found or loaded stops the start, naming it. Owned by the server; disposed with it.
/// </summary>
internal sealed class LlamaGuardModels : IDisposable
{
    /// <summary>How long one classification may take before the check's <c>on_error</c> applies.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly List<LocalGuardClassifier> _loaded = [];

    public int Count => _loaded.Count;

    public static LlamaGuardModels Bind(GuardConfig? config, ModelRegistry registry, TimeSpan? timeout = null)
    {
        var models = new LlamaGuardModels();
        if (config is null)
        {
            return models;
        }
        try
        {
            foreach (GuardPolicy policy in new[] { config.Default }.Concat(config.Models.Values).Concat(config.Keys.Values))
            {
                if (policy.Output.Checks.Concat(policy.ToolCalls.Checks).Any(c => c.Detector is LlamaGuardDetector))
                {
                    throw new InvalidOperationException($"guard policy \"{policy.Name}\" ({config.Source}): llama_guard checks run on the input only in this build");
                }
            }
            var byPath = new Dictionary<string, LocalGuardClassifier>(StringComparer.Ordinal);
            foreach (LlamaGuardDetector detector in config.LlamaGuardChecks)
            {
                string path = Resolve(detector.Model, registry, config.Source);
                if (!byPath.TryGetValue(path, out LocalGuardClassifier? classifier))
                {
                    classifier = LocalGuardClassifier.Load(path, timeout ?? DefaultTimeout);
                    byPath[path] = classifier;
                    models._loaded.Add(classifier);
                }
                detector.Bind(classifier);
            }
            return models;
        }
        catch
        {
            models.Dispose();
            throw;
        }
    }

    private static string Resolve(string model, ModelRegistry registry, string source)
    {
        if (File.Exists(model))
        {
            return Path.GetFullPath(model);
        }
        if (registry.TryGetEntry(model, out ModelEntry entry))
        {
            return Path.GetFullPath(entry.Path);
        }
        throw new FileNotFoundException($"the llama_guard model \"{model}\" in {source} is neither a GGUF file nor a model this server serves", model);
    }

    public void Dispose()
    {
        foreach (LocalGuardClassifier c in _loaded)
        {
            c.Dispose();
        }
        _loaded.Clear();
    }
}
