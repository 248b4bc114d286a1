using Cria.Core.Models;
using Cria.Core.Sampling;

namespace Cria.Core.Training;

/// <summary>
/// One trainable low-rank update ΔW = B·A of a frozen matrix W [out, in]: A [rank, in] and Bᵀ [rank, out]
/// (B is kept transposed, so both factors and both gradients are rank rows of contiguous floats),
/// with their gradients.
/// </summary>
public sealed class LoraParameter
{
    internal LoraParameter(int layer, LoraTarget target, int rank, int inDim, int outDim)
    {
        Layer = layer;
        Target = target;
        Rank = rank;
        In = inDim;
        Out = outDim;
        A = new float[rank * inDim];
        BT = new float[rank * outDim];
        GradA = new float[A.Length];
        GradBT = new float[BT.Length];
    }

    public int Layer { get; }

    public LoraTarget Target { get; }

    public int Rank { get; }

    public int In { get; }

    public int Out { get; }

    /// <summary>A [rank, in].</summary>
    public float[] A { get; }

    /// <summary>Bᵀ [rank, out].</summary>
    public float[] BT { get; }

    /// <summary>∂loss/∂A [rank, in].</summary>
    public float[] GradA { get; }

    /// <summary>∂loss/∂Bᵀ [rank, out].</summary>
    public float[] GradBT { get; }

    /// <summary>B [out, rank] (a copy, in the layout adapters store).</summary>
    public float[] B()
    {
        var b = new float[Out * Rank];
        for (int k = 0; k < Rank; k++)
        {
            for (int o = 0; o < Out; o++)
            {
                b[o * Rank + k] = BT[k * Out + o];
            }
        }
        return b;
    }
}

/// <summary>
/// The trainable factors of a LoRA adapter for one model: a <see cref="LoraParameter"/> per targeted
/// matrix of every layer, all of one rank, scaled by alpha / rank in the forward pass (PEFT).
/// </summary>
public sealed class LoraParameters
{
    private readonly LoraParameter?[][] _byLayer; // [layer][target]

    private LoraParameters(ModelConfig config, int rank, float alpha, IReadOnlyList<LoraTarget> targets)
    {
        Rank = rank;
        Alpha = alpha;
        Targets = [.. targets.Distinct().Order()];
        _byLayer = new LoraParameter?[config.BlockCount][];
        var all = new List<LoraParameter>();
        for (int l = 0; l < config.BlockCount; l++)
        {
            _byLayer[l] = new LoraParameter?[7];
            foreach (LoraTarget t in Targets)
            {
                (int o, int i) = LoraAdapter.Shape(config, t);
                var p = new LoraParameter(l, t, rank, i, o);
                _byLayer[l][(int)t] = p;
                all.Add(p);
            }
        }
        All = all;
    }

    public int Rank { get; }

    public float Alpha { get; }

    /// <summary>alpha / rank: the factor in front of B·A.</summary>
    public float Scale => LoraAdapter.ScaleOf(Alpha, Rank);

    public IReadOnlyList<LoraTarget> Targets { get; }

    /// <summary>Every parameter, layer by layer, targets in <see cref="LoraTarget"/> order (the order of optimizer state and checkpoints).</summary>
    public IReadOnlyList<LoraParameter> All { get; }

    /// <summary>Trainable floats (A and B of every matrix).</summary>
    public long Count => All.Sum(p => (long)p.A.Length + p.BT.Length);

    public LoraParameter? Get(int layer, LoraTarget target) => _byLayer[layer][(int)target];

    /// <summary>
    /// Fresh factors as PEFT initializes them: A ~ U(−1/√in, 1/√in) (kaiming_uniform with a = √5) and
    /// B = 0, so training starts from the base model exactly. Each matrix draws from its own generator
    /// seeded by (seed, layer, target).
    /// </summary>
    public static LoraParameters Create(ModelConfig config, int rank, float alpha, IReadOnlyList<LoraTarget> targets, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(targets);
        if (rank < 1 || rank > LoraAdapter.MaxRank)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), $"the rank must be between 1 and {LoraAdapter.MaxRank}, got {rank}");
        }
        if (targets.Count == 0)
        {
            throw new ArgumentException("at least one target matrix is needed", nameof(targets));
        }
        var p = new LoraParameters(config, rank, alpha, targets);
        foreach (LoraParameter m in p.All)
        {
            var rng = new Rng(SeedMix.Of(seed, 0x4C6F7241UL, (ulong)m.Layer, (ulong)m.Target));
            double bound = 1.0 / Math.Sqrt(m.In);
            for (int i = 0; i < m.A.Length; i++)
            {
                m.A[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
            }
        }
        return p;
    }

    /// <summary>The factors as an adapter (copies), in llama.cpp's layout: A [rank, in], B [out, rank].</summary>
    public LoraAdapter ToAdapter(string name, string architecture)
    {
        var layers = new LoraMatrix?[_byLayer.Length][];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new LoraMatrix?[7];
            for (int t = 0; t < 7; t++)
            {
                if (_byLayer[l][t] is { } p)
                {
                    layers[l][t] = new LoraMatrix(p.Rank, p.In, p.Out, (float[])p.A.Clone(), p.B());
                }
            }
        }
        return new LoraAdapter(name, architecture, Alpha, layers);
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGradients()
    {
        foreach (LoraParameter p in All)
        {
            Array.Clear(p.GradA);
            Array.Clear(p.GradBT);
        }
    }
}
