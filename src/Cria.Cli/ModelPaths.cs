using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary>
/// Where models are found: the bundled default model next to the binary when none is named; else an
/// existing GGUF file; else a name in the model store under <c>$CRIA_HOME</c> (default <c>~/.cria</c>).
/// </summary>
internal static class ModelPaths
{
    public const string DefaultModelFile = "stories260K.gguf";

    public static string DefaultModel => Path.Combine(AppContext.BaseDirectory, "models", DefaultModelFile);

    /// <summary>The GGUF file a model argument names.</summary>
    public static string Resolve(string? model) => ResolveModel(model).ModelPath;

    /// <summary>The GGUF file a model argument names, with the defaults a stored model carries (template, system prompt, parameters).</summary>
    public static ResolvedModel ResolveModel(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            string path = DefaultModel;
            if (!File.Exists(path))
            {
                throw new UserException($"the bundled default model is missing at {path}; pass --model PATH");
            }
            return new ResolvedModel { ModelPath = path };
        }
        return ModelStore.OpenDefault().Resolve(model);
    }

    /// <summary>"FILE" or "FILE:SCALE" (as llama.cpp's --lora-scaled takes them) → (path, scale).</summary>
    public static (string Path, float Scale) ParseAdapterSpec(string spec)
    {
        int colon = spec.LastIndexOf(':');
        if (colon > 0 && !File.Exists(spec)
            && float.TryParse(spec.AsSpan(colon + 1), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float scale))
        {
            if (!float.IsFinite(scale))
            {
                throw new UserException($"--adapter {spec}: the scale must be a finite number");
            }
            return (spec[..colon], scale);
        }
        return (spec, 1f);
    }

    /// <summary>Loads adapter files against a model; a stored model's own ADAPTER layers come first, at scale 1.</summary>
    public static List<Core.Models.ActiveAdapter> LoadAdapters(ResolvedModel model, IEnumerable<string> specs, Core.Models.ModelConfig config)
    {
        var adapters = new List<Core.Models.ActiveAdapter>();
        foreach (string path in model.AdapterPaths)
        {
            adapters.Add(new Core.Models.ActiveAdapter(Core.Models.LoraAdapter.Load(path, config)));
        }
        foreach (string spec in specs)
        {
            (string path, float scale) = ParseAdapterSpec(spec);
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                throw new UserException($"adapter file not found: {path}");
            }
            adapters.Add(new Core.Models.ActiveAdapter(Directory.Exists(path) ? Core.Adapters.PeftAdapter.Load(path, config) : Core.Models.LoraAdapter.Load(path, config), scale));
        }
        return adapters;
    }
}
