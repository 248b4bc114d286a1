using System.Globalization;

using Cria.Core.Gguf;

namespace Cria.Hub.Store;

/// <summary>
/// What the store records about a GGUF file, read from its metadata by Cria.Core's validating parser
/// (<see cref="GgufFile.Open"/>): the family, file type, parameter count, declared licence and type.
/// Opening the file is the validation — a file the engine cannot parse never gets a manifest.
/// </summary>
public sealed record GgufFacts
{
    /// <summary>general.architecture ("llama"); empty when absent.</summary>
    public required string Family { get; init; }

    /// <summary>Quantization name ("Q4_K_M"): general.file_type, else the dominant tensor type.</summary>
    public required string FileType { get; init; }

    /// <summary>general.parameter_count, else the sum of the tensors' element counts.</summary>
    public required long ParameterCount { get; init; }

    /// <summary>general.license, when the file declares one.</summary>
    public string? License { get; init; }

    /// <summary>general.type ("model", "adapter"), when present.</summary>
    public string? Type { get; init; }

    /// <summary>general.name, when present.</summary>
    public string? Name { get; init; }

    /// <summary>Opens and validates a GGUF file and reads its facts.</summary>
    /// <exception cref="GgufFormatException">Not a valid GGUF file (the message names the field and byte offset).</exception>
    public static GgufFacts Read(string path)
    {
        using GgufFile f = GgufFile.Open(path);
        long parameters = f.GetInteger("general.parameter_count") is long p and > 0 ? p : f.Tensors.Sum(t => t.ElementCount);
        string fileType = f.GetInteger("general.file_type") is long ft
            ? FileTypes.Name(ft)
            : f.Tensors.Count == 0 ? "" : FileTypes.FromTensorType(f.Tensors.GroupBy(t => t.Type).MaxBy(g => g.Sum(t => t.ByteSize))!.Key);
        return new GgufFacts
        {
            Family = f.GetString("general.architecture") ?? "",
            FileType = fileType,
            ParameterCount = parameters,
            License = NullIfEmpty(f.GetString("general.license")),
            Type = NullIfEmpty(f.GetString("general.type")),
            Name = NullIfEmpty(f.GetString("general.name")),
        };
    }

    /// <summary>A parameter count as Ollama prints it (format.HumanNumber): 260.22K is "260K", 1.1B, 8B, 13.02M.</summary>
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
