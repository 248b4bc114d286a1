namespace Cria.Cli;

/// <summary>Where models are found: an explicit path, or the bundled default model next to the binary.</summary>
internal static class ModelPaths
{
    public const string DefaultModelFile = "stories260K.gguf";

    public static string DefaultModel => Path.Combine(AppContext.BaseDirectory, "models", DefaultModelFile);

    public static string Resolve(string? model)
    {
        string path = string.IsNullOrEmpty(model) ? DefaultModel : model;
        if (!File.Exists(path))
        {
            throw new UserException(string.IsNullOrEmpty(model)
                ? $"the bundled default model is missing at {path}; pass --model PATH"
                : $"model file not found: {path}");
        }
        return path;
    }
}
