using Cria.Core.Gguf;
using Cria.Numerics.Kernels;

namespace Cria.Core.Models;

/// <summary>How RoPE frequencies are stretched for contexts longer than training.</summary>
public enum RopeScaling
{
    None,
    Linear,
    Llama3,
}

/// <summary>
/// Hyperparameters of a decoder-only transformer of the Llama family, read from GGUF metadata
/// (keys "{arch}.embedding_length" etc., as llama.cpp's llama-arch.cpp names them).
/// </summary>
public sealed record ModelConfig
{
    public required string Architecture { get; init; }
    public required int EmbeddingLength { get; init; }      // dim
    public required int BlockCount { get; init; }           // layers
    public required int FeedForwardLength { get; init; }    // hidden dim of the SwiGLU MLP
    public required int HeadCount { get; init; }
    public required int HeadCountKv { get; init; }
    public required int HeadDim { get; init; }
    public required int ContextLength { get; init; }        // training context
    public required float RmsEpsilon { get; init; }
    public required float RopeFreqBase { get; init; }
    public required int RopeDimensions { get; init; }       // rotated dims per head
    public required RopeStyle RopeStyle { get; init; }
    public RopeScaling RopeScaling { get; init; }
    public float RopeScalingFactor { get; init; } = 1f;
    public int RopeOriginalContext { get; init; }
    public bool HasQkvBias { get; init; }

    public int QDim => HeadCount * HeadDim;

    public int KvDim => HeadCountKv * HeadDim;

    /// <summary>Architectures this engine runs.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["llama", "qwen2"];

    public static ModelConfig FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string arch = file.GetString("general.architecture")
            ?? throw new ModelException($"{file.FilePath}: general.architecture is missing; is this a model file (not a vocab-only file)?");
        if (!SupportedArchitectures.Contains(arch))
        {
            throw new ModelException($"{file.FilePath}: unsupported architecture \"{arch}\" (supported: {string.Join(", ", SupportedArchitectures)})");
        }
        int dim = RequiredInt(file, $"{arch}.embedding_length");
        int heads = RequiredInt(file, $"{arch}.attention.head_count");
        int kvHeads = OptionalInt(file, $"{arch}.attention.head_count_kv") ?? heads;
        int headDim = OptionalInt(file, $"{arch}.attention.key_length") ?? (heads > 0 ? dim / heads : 0);
        int valueDim = OptionalInt(file, $"{arch}.attention.value_length") ?? headDim;
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0 || headDim <= 0 || headDim % 2 != 0 || valueDim != headDim)
        {
            throw new ModelException($"{file.FilePath}: inconsistent attention shape (heads {heads}, kv heads {kvHeads}, head dim {headDim}, value dim {valueDim})");
        }
        int ropeDims = OptionalInt(file, $"{arch}.rope.dimension_count") ?? headDim;
        if (ropeDims <= 0 || ropeDims > headDim || ropeDims % 2 != 0)
        {
            throw new ModelException($"{file.FilePath}: {arch}.rope.dimension_count = {ropeDims} does not fit head dim {headDim}");
        }
        var scaling = RopeScaling.None;
        float factor = 1f;
        string? scalingType = file.GetString($"{arch}.rope.scaling.type");
        if (scalingType is "linear")
        {
            scaling = RopeScaling.Linear;
            factor = (float)(file.GetFloat($"{arch}.rope.scaling.factor") ?? 1.0);
        }
        else if (scalingType is not (null or "none"))
        {
            if (scalingType != "llama3")
            {
                throw new ModelException($"{file.FilePath}: RoPE scaling \"{scalingType}\" is not supported (none, linear and llama3 are)");
            }
            scaling = RopeScaling.Llama3;
        }
        if (file.GetFloat($"{arch}.rope.scale_linear") is double legacy && legacy != 1.0)
        {
            scaling = RopeScaling.Linear;
            factor = (float)legacy;
        }
        if (!(factor > 0f) || float.IsInfinity(factor))
        {
            throw new ModelException($"{file.FilePath}: RoPE scaling factor {factor} is invalid");
        }
        float eps = (float)(file.GetFloat($"{arch}.attention.layer_norm_rms_epsilon") ?? 1e-5);
        float freqBase = (float)(file.GetFloat($"{arch}.rope.freq_base") ?? 10000.0);
        if (!(eps > 0f) || !(freqBase > 0f))
        {
            throw new ModelException($"{file.FilePath}: invalid rms epsilon {eps} or RoPE base {freqBase}");
        }
        return new ModelConfig
        {
            Architecture = arch,
            EmbeddingLength = dim,
            BlockCount = RequiredInt(file, $"{arch}.block_count"),
            FeedForwardLength = RequiredInt(file, $"{arch}.feed_forward_length"),
            HeadCount = heads,
            HeadCountKv = kvHeads,
            HeadDim = headDim,
            ContextLength = OptionalInt(file, $"{arch}.context_length") ?? 2048,
            RmsEpsilon = eps,
            RopeFreqBase = freqBase,
            RopeDimensions = ropeDims,
            RopeStyle = arch == "qwen2" ? RopeStyle.NeoX : RopeStyle.Normal,
            RopeScaling = scaling,
            RopeScalingFactor = factor,
            RopeOriginalContext = OptionalInt(file, $"{arch}.rope.scaling.original_context_length") ?? 0,
            HasQkvBias = arch == "qwen2",
        };
    }

    private static int RequiredInt(GgufFile file, string key) =>
        OptionalInt(file, key) ?? throw new ModelException($"{file.FilePath}: required metadata {key} is missing");

    private static int? OptionalInt(GgufFile file, string key)
    {
        if (!file.TryGetValue(key, out GgufValue? v))
        {
            return null;
        }
        long? n = v.AsInteger();
        if (n is null or <= 0 or > 1 << 24)
        {
            throw new ModelException($"{file.FilePath}: {key} = {v} is not a positive integer in range");
        }
        return (int)n.Value;
    }
}
