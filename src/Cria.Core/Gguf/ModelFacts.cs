using System.Globalization;

namespace Cria.Core.Gguf;

/// <summary>
/// What model listings say about a GGUF file, read from its header without loading the weights, in the
/// words Ollama uses. The store (<c>cria list</c>, <c>cria show</c>, model cards) and the server
/// (<c>/api/tags</c>, <c>/api/show</c>, <c>/api/ps</c>) both answer from this, so they agree. Opening the
/// file is the validation (<see cref="GgufFile.Open"/>): a file the engine cannot parse has no facts.
/// </summary>
public sealed record ModelFacts
{
    /// <summary>general.architecture ("llama"); empty when absent.</summary>
    public required string Architecture { get; init; }

    /// <summary>
    /// The sum of the tensors' element counts. This is what Ollama reports: reading a file, it replaces
    /// general.parameter_count with the same sum (fs/ggml/gguf.go).
    /// </summary>
    public required long ParameterCount { get; init; }

    /// <summary><see cref="ParameterCount"/> as Ollama prints it: "260K", "13.02M", "1.1B", "8B" (see <see cref="HumanNumber"/>).</summary>
    public string ParameterSize => HumanNumber(ParameterCount);

    /// <summary>
    /// The file type as Ollama names it ("Q4_K_M", "F32"): the name of general.file_type, else the tensor
    /// type holding the most bytes, upper case; empty for a file without tensors.
    /// </summary>
    public required string QuantizationLevel { get; init; }

    /// <summary>{architecture}.context_length; 0 when absent.</summary>
    public int ContextLength { get; init; }

    /// <summary>tokenizer.chat_template, when present.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>general.license, when the file declares one.</summary>
    public string? License { get; init; }

    /// <summary>general.type ("model", "adapter"), when present.</summary>
    public string? Type { get; init; }

    /// <summary>general.name, when present.</summary>
    public string? Name { get; init; }

    /// <summary>Opens and validates a GGUF file and reads its facts.</summary>
    /// <exception cref="GgufFormatException">Not a valid GGUF file (the message names the field and byte offset).</exception>
    public static ModelFacts Read(string path)
    {
        using GgufFile f = GgufFile.Open(path);
        string architecture = f.GetString("general.architecture") ?? "";
        string fileType = f.GetInteger("general.file_type") is long ft
            ? FileTypes.Name(ft)
            : f.Tensors.Count == 0 ? "" : FileTypes.FromTensorType(f.Tensors.GroupBy(t => t.Type).MaxBy(g => g.Sum(t => t.ByteSize))!.Key);
        return new ModelFacts
        {
            Architecture = architecture,
            ParameterCount = f.Tensors.Sum(t => t.ElementCount),
            QuantizationLevel = fileType,
            ContextLength = architecture.Length == 0 ? 0 : (int)(f.GetInteger($"{architecture}.context_length") ?? 0),
            ChatTemplate = f.GetString("tokenizer.chat_template"),
            License = NullIfEmpty(f.GetString("general.license")),
            Type = NullIfEmpty(f.GetString("general.type")),
            Name = NullIfEmpty(f.GetString("general.name")),
        };
    }

    /// <summary>
    /// A count as Ollama prints it (format.HumanNumber): whole billions and millions without decimals,
    /// others with one decimal for billions ("1.1B") and two for millions ("13.02M"); thousands rounded
    /// to a whole number ("260K" for the bundled model's 260,032); below a thousand as it is.
    /// </summary>
    public static string HumanNumber(long n)
    {
        var inv = CultureInfo.InvariantCulture;
        return n switch
        {
            >= 1_000_000_000 => n % 1_000_000_000 == 0 ? (n / 1_000_000_000).ToString(inv) + "B" : (n / 1e9).ToString("F1", inv) + "B",
            >= 1_000_000 => n % 1_000_000 == 0 ? (n / 1_000_000).ToString(inv) + "M" : (n / 1e6).ToString("F2", inv) + "M",
            >= 1_000 => (n / 1e3).ToString("F0", inv) + "K",
            _ => n.ToString(inv),
        };
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
