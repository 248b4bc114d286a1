using System.Globalization;

using Cria.Core.Gguf;
using Cria.Numerics;
using Cria.Numerics.Quants;

namespace Cria.Core.Models;

/// <summary>The weight matrices of a block that a LoRA adapter can change.</summary>
public enum LoraTarget
{
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

/// <summary>
/// One low-rank update ΔW = B·A of a weight matrix W [out, in] (Hu et al. 2021): A [rank, in] and
/// B [out, rank], row-major floats.
/// </summary>
public sealed record LoraMatrix(int Rank, int In, int Out, float[] A, float[] B)
{
    private float[]? _bt;

    /// <summary>Bᵀ [rank, out]: applying the update is then one scaled row addition per rank.</summary>
    public float[] BT => _bt ??= Transpose(B, Out, Rank);

    private static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }

    /// <summary>y [n, Out] += scale · B·A·x for the n rows of x [n, In] (row strides In and Out).</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int n, float scale)
    {
        float[] bt = BT;
        Span<float> h = Rank <= 256 ? stackalloc float[Rank] : new float[Rank];
        for (int t = 0; t < n; t++)
        {
            ReadOnlySpan<float> xt = x.Slice(t * In, In);
            Span<float> yt = y.Slice(t * Out, Out);
            for (int r = 0; r < Rank; r++)
            {
                h[r] = System.Numerics.Tensors.TensorPrimitives.Dot(A.AsSpan(r * In, In), xt) * scale;
            }
            for (int r = 0; r < Rank; r++)
            {
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(bt.AsSpan(r * Out, Out), h[r], yt, yt);
            }
        }
    }
}

/// <summary>
/// A LoRA adapter in llama.cpp's GGUF format (what <c>convert_lora_to_gguf.py</c> writes and
/// <c>llama-cli --lora</c> reads): <c>general.type = adapter</c>, <c>adapter.type = lora</c>,
/// <c>adapter.lora.alpha</c>, and for each changed matrix a pair of tensors
/// <c>{base tensor}.lora_a</c> (ne [in, rank]) and <c>{base tensor}.lora_b</c> (ne [rank, out]). The
/// update is scaled by alpha / rank (PEFT's convention; alpha 0 means scale 1, as llama.cpp does),
/// times the scale the user gives. Factors are kept as floats: adapters are small.
/// </summary>
public sealed class LoraAdapter
{
    /// <summary>The largest rank accepted (the update's scratch is per token and rank).</summary>
    public const int MaxRank = 1024;

    private static readonly (string Name, LoraTarget Target)[] s_targets =
    [
        ("attn_q", LoraTarget.Q), ("attn_k", LoraTarget.K), ("attn_v", LoraTarget.V), ("attn_output", LoraTarget.O),
        ("ffn_gate", LoraTarget.Gate), ("ffn_up", LoraTarget.Up), ("ffn_down", LoraTarget.Down),
    ];

    private readonly LoraMatrix?[][] _layers; // [layer][target]

    public LoraAdapter(string name, string architecture, float alpha, LoraMatrix?[][] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        Name = name;
        Architecture = architecture;
        Alpha = alpha;
        _layers = layers;
    }

    /// <summary>A short name (the file name without extension, unless given).</summary>
    public string Name { get; }

    public string Architecture { get; }

    public float Alpha { get; }

    public int LayerCount => _layers.Length;

    /// <summary>The update of one matrix, or null when the adapter leaves it alone.</summary>
    public LoraMatrix? Get(int layer, LoraTarget target) => _layers[layer][(int)target];

    /// <summary>alpha / rank (1 when alpha is 0) — the factor in front of B·A before the user's scale.</summary>
    public static float ScaleOf(float alpha, int rank) => alpha == 0 ? 1f : alpha / rank;

    /// <summary>The GGUF base tensor name of a target, e.g. <c>blk.3.attn_q.weight</c>.</summary>
    public static string TensorName(int layer, LoraTarget target) =>
        string.Create(CultureInfo.InvariantCulture, $"blk.{layer}.{s_targets[(int)target].Name}.weight");

    /// <summary>Reads an adapter and checks it against the model it will be applied to.</summary>
    /// <exception cref="ModelException">Not an adapter, another architecture, a pair missing, a shape that does not fit the model, or a tensor the engine cannot apply.</exception>
    public static LoraAdapter Load(string path, ModelConfig config, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(config);
        using GgufFile file = GgufFile.Open(path);
        string Fail(string problem) => throw new ModelException($"{path}: {problem}");
        if (file.GetString("general.type") != "adapter")
        {
            Fail($"not a LoRA adapter (general.type is \"{file.GetString("general.type") ?? "missing"}\", expected \"adapter\")");
        }
        if (file.GetString("adapter.type") != "lora")
        {
            Fail($"adapter.type is \"{file.GetString("adapter.type") ?? "missing"}\"; only \"lora\" adapters are supported");
        }
        string arch = file.GetString("general.architecture") ?? "";
        if (arch != config.Architecture)
        {
            Fail($"the adapter is for architecture \"{arch}\" but the model is \"{config.Architecture}\"");
        }
        double alpha = file.GetFloat("adapter.lora.alpha") ?? 0;
        if (!double.IsFinite(alpha) || alpha < 0)
        {
            Fail($"adapter.lora.alpha must be a finite number ≥ 0, got {alpha}");
        }

        var layers = new LoraMatrix?[config.BlockCount][];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new LoraMatrix?[s_targets.Length];
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int pairs = 0;
        foreach (GgufTensorInfo t in file.Tensors)
        {
            string baseName = t.Name.EndsWith(".lora_a", StringComparison.Ordinal) || t.Name.EndsWith(".lora_b", StringComparison.Ordinal)
                ? t.Name[..^7]
                : Fail($"tensor {t.Name}: adapter tensors must be named {{base tensor}}.lora_a or .lora_b");
            if (!seen.Add(baseName))
            {
                continue; // the pair was handled with its first tensor
            }
            (int layer, LoraTarget target) = ParseTarget(baseName, config.BlockCount)
                ?? throw new ModelException($"{path}: tensor {t.Name}: Cria applies LoRA to blk.N.{{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}}.weight only");
            if (!file.TryGetTensor(baseName + ".lora_a", out GgufTensorInfo a) || !file.TryGetTensor(baseName + ".lora_b", out GgufTensorInfo b))
            {
                Fail($"{baseName}: needs both .lora_a and .lora_b");
                return null!;
            }
            (int outDim, int inDim) = Shape(config, target);
            if (a.Dimensions.Length != 2 || b.Dimensions.Length != 2)
            {
                Fail($"{baseName}: lora_a and lora_b must be matrices");
            }
            long rank = a.Dimensions[1];
            if (a.Dimensions[0] != inDim || b.Dimensions[1] != outDim || b.Dimensions[0] != rank || rank < 1 || rank > MaxRank)
            {
                Fail($"{baseName}: lora_a is {a.ShapeText} and lora_b is {b.ShapeText}; for this model they must be [{inDim}, r] and [r, {outDim}] with 1 ≤ r ≤ {MaxRank}");
            }
            layers[layer][(int)target] = new LoraMatrix((int)rank, inDim, outDim, ReadFloats(file, a, path), ReadFloats(file, b, path));
            pairs++;
        }
        if (pairs == 0)
        {
            Fail("the adapter has no LoRA tensors");
        }
        return new LoraAdapter(name ?? Path.GetFileNameWithoutExtension(path), arch, (float)alpha, layers);
    }

    /// <summary>Writes the adapter in llama.cpp's GGUF LoRA format (F32 factors), atomically.</summary>
    public void Save(string path)
    {
        var w = new GgufWriter();
        w.Add("general.architecture", Architecture);
        w.Add("general.type", "adapter");
        w.Add("adapter.type", "lora");
        w.Add("adapter.lora.alpha", Alpha);
        w.Add("general.name", Name);
        for (int l = 0; l < _layers.Length; l++)
        {
            for (int t = 0; t < s_targets.Length; t++)
            {
                if (_layers[l][t] is not { } m)
                {
                    continue;
                }
                string baseName = TensorName(l, (LoraTarget)t);
                w.AddTensor(baseName + ".lora_a", GgmlType.F32, [m.In, m.Rank], Bytes(m.A));
                w.AddTensor(baseName + ".lora_b", GgmlType.F32, [m.Rank, m.Out], Bytes(m.B));
            }
        }
        w.Save(path);
    }

    /// <summary>[out, in] of a target's base matrix.</summary>
    public static (int Out, int In) Shape(ModelConfig c, LoraTarget target) => target switch
    {
        LoraTarget.Q => (c.QDim, c.EmbeddingLength),
        LoraTarget.K or LoraTarget.V => (c.KvDim, c.EmbeddingLength),
        LoraTarget.O => (c.EmbeddingLength, c.QDim),
        LoraTarget.Gate or LoraTarget.Up => (c.FeedForwardLength, c.EmbeddingLength),
        _ => (c.EmbeddingLength, c.FeedForwardLength),
    };

    /// <summary>"blk.N.attn_q.weight" → (N, Q); null for anything else.</summary>
    public static (int Layer, LoraTarget Target)? ParseTarget(string tensorName, int layers)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        if (!tensorName.StartsWith("blk.", StringComparison.Ordinal) || !tensorName.EndsWith(".weight", StringComparison.Ordinal))
        {
            return null;
        }
        int dot = tensorName.IndexOf('.', 4);
        if (dot < 0 || !int.TryParse(tensorName.AsSpan(4, dot - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int layer) || layer >= layers)
        {
            return null;
        }
        string kind = tensorName[(dot + 1)..^".weight".Length];
        foreach ((string n, LoraTarget target) in s_targets)
        {
            if (n == kind)
            {
                return (layer, target);
            }
        }
        return null;
    }

    private static float[] ReadFloats(GgufFile file, GgufTensorInfo t, string path)
    {
        if (t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16) && !Dequantize.IsSupported(t.Type))
        {
            throw new ModelException($"{path}: tensor {t.Name} has type {GgmlTypes.Name(t.Type)}, which cannot be read");
        }
        var matrix = file.Matrix(t);
        var values = new float[(long)matrix.Rows * matrix.Cols];
        for (int r = 0; r < matrix.Rows; r++)
        {
            Dequantize.Row(t.Type, matrix.Row(r), values.AsSpan(r * matrix.Cols, matrix.Cols));
        }
        foreach (float v in values)
        {
            if (!float.IsFinite(v))
            {
                throw new ModelException($"{path}: tensor {t.Name} holds a value that is not finite");
            }
        }
        return values;
    }

    private static byte[] Bytes(float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}

/// <summary>An adapter as applied to a sequence: its updates times <see cref="Scale"/> (the user's, default 1).</summary>
public sealed record ActiveAdapter(LoraAdapter Adapter, float Scale = 1f);
