namespace Cria.Hub.Remote;

/// <summary>
/// A Hugging Face pull: <c>hf.co/OWNER/REPO[:QUANT]</c> or <c>hf.co/OWNER/REPO/PATH/FILE.gguf</c>
/// (<c>huggingface.co/</c> works too). Owner and repository follow <see cref="ModelName"/>'s rules, and a
/// file path is '/'-separated segments of letters, digits, <c>. _ - +</c> (no <c>..</c>, nothing empty);
/// the path only ever becomes part of a URL, never of a local path.
/// </summary>
public sealed record HuggingFaceReference
{
    private const int MaxPathLength = 1000;

    public required string Owner { get; init; }

    public required string Repository { get; init; }

    /// <summary>The quantization asked for (<c>Q4_K_M</c>), or null.</summary>
    public string? Quant { get; init; }

    /// <summary>The exact file asked for, or null.</summary>
    public string? File { get; init; }

    /// <summary>The name the model is stored under: <c>hf.co/owner/repo:QUANT</c>, the file's name as tag, or <c>:latest</c>.</summary>
    public required ModelName StoreName { get; init; }

    public static bool IsHuggingFace(string text) =>
        text.StartsWith("hf.co/", StringComparison.OrdinalIgnoreCase) || text.StartsWith("huggingface.co/", StringComparison.OrdinalIgnoreCase);

    /// <exception cref="HubException">Not a valid Hugging Face reference; the message says why.</exception>
    public static HuggingFaceReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!IsHuggingFace(text))
        {
            throw new HubException($"\"{Digest.Printable(text)}\" is not a Hugging Face name (hf.co/OWNER/REPO[:QUANT])");
        }
        string rest = text[(text.IndexOf('/', StringComparison.Ordinal) + 1)..];
        string[] segments = rest.Split('/');
        if (segments.Length < 2)
        {
            throw new HubException($"\"{Digest.Printable(text)}\" needs an owner and a repository: hf.co/OWNER/REPO[:QUANT]");
        }
        if (segments.Length == 2)
        {
            ModelName name = ModelName.Parse($"hf.co/{rest}");
            bool tagged = rest.Contains(':', StringComparison.Ordinal);
            return new HuggingFaceReference { Owner = name.Namespace, Repository = name.Model, Quant = tagged ? name.Tag : null, StoreName = name };
        }
        string path = string.Join('/', segments[2..]);
        if (path.Length > MaxPathLength || !path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            throw new HubException($"\"{Digest.Printable(text)}\": a file to pull must be a .gguf file path of at most {MaxPathLength} characters");
        }
        foreach (string s in segments[2..])
        {
            if (!IsSafeSegment(s))
            {
                throw new HubException($"\"{Digest.Printable(text)}\": file path segment \"{Digest.Printable(s)}\" may only use letters, digits, '.', '_', '-' and '+', and may not be empty or \"..\"");
            }
        }
        ModelName repo = ModelName.Parse($"hf.co/{segments[0]}/{segments[1]}");
        string stem = segments[^1][..^".gguf".Length];
        ModelName storeName = ModelName.TryParse($"hf.co/{segments[0]}/{segments[1]}:{stem}", out ModelName? n) ? n : repo;
        return new HuggingFaceReference { Owner = repo.Namespace, Repository = repo.Model, File = path, StoreName = storeName };
    }

    internal static bool IsSafeSegment(string s) =>
        s.Length is > 0 and <= 255 && s != "." && !s.Contains("..", StringComparison.Ordinal)
        && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '+');
}
