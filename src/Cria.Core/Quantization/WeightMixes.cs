using Cria.Numerics;

namespace Cria.Core.Quantization;

/// <summary>
/// Weight mixes: a tensor type name applies that type to every matrix ("pure"); "q4_k_m" is
/// llama.cpp's Q4_K_M mix (Q4_K, with Q6_K for output.weight and for attn_v / ffn_down of the
/// layers llama-quantize gives more bits). Norm vectors are always F32. Both the quantizer and the
/// synthetic model writer choose each matrix's type here.
/// </summary>
public static class WeightMixes
{
    /// <summary>The mixes, by the names <c>cria quantize --type</c> and <c>cria synth --type</c> take.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "q4_k_m"];

    /// <summary>
    /// The type a matrix gets under <paramref name="mix"/>, with llama.cpp's fallbacks for rows that
    /// are not a whole number of blocks (llama-quant.cpp, llama_tensor_get_type): Q4_K → Q5_0,
    /// Q5_K → Q5_1, Q6_K → Q8_0, and F16 when even that does not divide the row; an output
    /// matrix whose row is not a multiple of 256 becomes Q8_0. <paramref name="layer"/> is -1
    /// for token_embd and output.
    /// </summary>
    public static GgmlType TensorType(string mix, string name, int layer, int layers, long cols, bool tiedOutput)
    {
        ArgumentNullException.ThrowIfNull(mix);
        ArgumentNullException.ThrowIfNull(name);
        GgmlType type;
        if (mix == "q4_k_m")
        {
            bool isOutput = name == "output.weight" || (tiedOutput && name == "token_embd.weight");
            if (isOutput)
            {
                type = cols % GgmlTypes.QK_K != 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
            }
            else if ((name.EndsWith(".attn_v.weight", StringComparison.Ordinal) || name.EndsWith(".ffn_down.weight", StringComparison.Ordinal))
                && UseMoreBits(layer, layers))
            {
                type = GgmlType.Q6_K;
            }
            else
            {
                type = GgmlType.Q4_K;
            }
        }
        else
        {
            type = Enum.Parse<GgmlType>(mix, ignoreCase: true);
        }
        if (cols % GgmlTypes.BlockSize(type) == 0)
        {
            return type;
        }
        type = type switch
        {
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,
        };
        return cols % GgmlTypes.BlockSize(type) == 0 ? type : GgmlType.F16;
    }

    /// <summary>llama_ftype of the mix (general.file_type).</summary>
    public static uint FileType(string mix) => mix switch
    {
        "f32" => 0,
        "f16" => 1,
        "q4_0" => 2,
        "q4_1" => 3,
        "q8_0" => 7,
        "q5_0" => 8,
        "q5_1" => 9,
        "q4_k" => 14,   // Q4_K_S
        "q4_k_m" => 15,
        "q5_k" => 16,   // Q5_K_S
        "q6_k" => 18,
        "bf16" => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(mix), mix, "no file type"),
    };

    /// <summary>llama.cpp's use_more_bits: the first and last eighth of the layers, and every third in between.</summary>
    private static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - (layers / 8)) % 3 == 2;
}
