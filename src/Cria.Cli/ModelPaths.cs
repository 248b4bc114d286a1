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
        ResolvedModel resolved = ModelStore.OpenDefault().Resolve(model);
        if (resolved.AdapterPaths.Count > 0)
        {
            throw new UserException($"{resolved.DisplayName} has {resolved.AdapterPaths.Count} LoRA adapter layer(s); Cria cannot apply adapters yet");
        }
        return resolved;
    }
}
