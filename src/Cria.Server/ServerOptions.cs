namespace Cria.Server;

/// <summary>What <c>cria serve</c> was asked for. Zero means "the default" for the numeric settings.</summary>
public sealed record ServerOptions
{
    /// <summary>The bundled model's file name, looked up under <c>models/</c> next to the binary.</summary>
    public const string DefaultModelFile = "stories260K.gguf";

    /// <summary>GGUF files to serve; a request's <c>model</c> is the file name without extension. Empty: the bundled model.</summary>
    public IReadOnlyList<string> ModelPaths { get; init; } = [];

    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the OS pick one (tests).</summary>
    public int Port { get; init; } = 11435;

    /// <summary>Context length of each sequence slot (0: the model's, at most 4096).</summary>
    public int ContextLength { get; init; }

    /// <summary>Generations that run at the same time; more requests wait in the queue.</summary>
    public int Parallel { get; init; } = 1;

    /// <summary>Requests that may wait for a slot; one more gets 429 with Retry-After.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Largest request body accepted (413 above it).</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;

    /// <summary>A Jinja chat template file that replaces every model's own template.</summary>
    public string? ChatTemplatePath { get; init; }

    /// <summary>Compute threads (0: the processor count).</summary>
    public int Threads { get; init; }

    /// <summary>Tests only: a pause after each generated piece, so a stream lasts long enough to be interrupted.</summary>
    internal TimeSpan PieceDelay { get; init; }

    public static string BundledModelPath => Path.Combine(AppContext.BaseDirectory, "models", DefaultModelFile);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"--port must be between 0 and 65535, got {Port}");
        }
        if (ContextLength is < 0 or > 1 << 20)
        {
            throw new ArgumentException($"--ctx must be between 1 and {1 << 20}, got {ContextLength}");
        }
        if (Parallel is < 1 or > 256)
        {
            throw new ArgumentException($"--parallel must be between 1 and 256, got {Parallel}");
        }
        if (MaxQueue < 0)
        {
            throw new ArgumentException($"the queue length must be ≥ 0, got {MaxQueue}");
        }
        if (MaxRequestBodyBytes < 1024)
        {
            throw new ArgumentException($"the request body limit must be at least 1024 bytes, got {MaxRequestBodyBytes}");
        }
        if (Threads is < 0 or > 1024)
        {
            throw new ArgumentException($"--threads must be between 1 and 1024, got {Threads}");
        }
    }
}
