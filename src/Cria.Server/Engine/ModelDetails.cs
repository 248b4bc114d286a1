using System.Globalization;

using Cria.Core.Gguf;
using Cria.Numerics;

namespace Cria.Server.Engine;

/// <summary>What model listings show about a GGUF file, read from its header without loading the weights.</summary>
public sealed record ModelDetails(string Architecture, long ParameterCount, string QuantizationLevel, int ContextLength, string? ChatTemplate)
{
    /// <summary>"260.1K", "1.1B": the size the way Ollama prints it.</summary>
    public string ParameterSize => ParameterCount switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{ParameterCount / 1e9:0.#}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{ParameterCount / 1e6:0.#}M"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ParameterCount / 1e3:0.#}K"),
    };

    public static ModelDetails Read(string path)
    {
        using GgufFile file = GgufFile.Open(path);
        string arch = file.GetString("general.architecture") ?? "unknown";
        long parameters = 0;
        var elementsByType = new Dictionary<GgmlType, long>();
        foreach (GgufTensorInfo t in file.Tensors)
        {
            parameters += t.ElementCount;
            if (t.Dimensions.Length >= 2)
            {
                elementsByType[t.Type] = elementsByType.GetValueOrDefault(t.Type) + t.ElementCount;
            }
        }
        // The type that holds most of the matrix weights names the quantization (Q4_K for a Q4_K_M mix).
        string quant = elementsByType.Count == 0 ? "" : elementsByType.MaxBy(kv => kv.Value).Key.ToString().ToUpperInvariant();
        int ctx = (int)(file.GetInteger($"{arch}.context_length") ?? 0);
        return new ModelDetails(arch, parameters, quant, ctx, file.GetString("tokenizer.chat_template"));
    }
}
