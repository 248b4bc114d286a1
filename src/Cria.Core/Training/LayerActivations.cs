using Cria.Core.Models;

namespace Cria.Core.Training;

/// <summary>
/// What one block's backward needs from its forward, for up to <see cref="Capacity"/> tokens,
/// allocated once. Rows are tokens, row-major. The block's input is not here: the network keeps
/// every block's input (that is the checkpoint it recomputes a block from).
/// </summary>
internal sealed class LayerActivations
{
    public LayerActivations(ModelConfig c, int capacity, int rank, IReadOnlyList<LoraTarget> targets)
    {
        Capacity = capacity;
        int dim = c.EmbeddingLength;
        int ff = c.FeedForwardLength;
        Xn = new float[capacity * dim];
        Rstd1 = new float[capacity];
        Q = new float[capacity * c.QDim];
        K = new float[capacity * c.KvDim];
        V = new float[capacity * c.KvDim];
        Lse = new float[capacity * c.HeadCount];
        Att = new float[capacity * c.QDim];
        X2 = new float[capacity * dim];
        Xn2 = new float[capacity * dim];
        Rstd2 = new float[capacity];
        G = new float[capacity * ff];
        U = new float[capacity * ff];
        H = new float[capacity * ff];
        R = new float[7][];
        for (int i = 0; i < 7; i++)
        {
            R[i] = targets.Contains((LoraTarget)i) ? new float[capacity * rank] : [];
        }
    }

    public int Capacity { get; }
    public float[] Xn { get; }     // attention-normed input [n, dim]
    public float[] Rstd1 { get; }  // [n]
    public float[] Q { get; }      // after RoPE [n, qDim]
    public float[] K { get; }      // after RoPE [n, kvDim]
    public float[] V { get; }      // [n, kvDim]
    public float[] Lse { get; }    // attention log-sum-exp [n, heads]
    public float[] Att { get; }    // attention output [n, qDim]
    public float[] X2 { get; }     // residual after attention [n, dim]
    public float[] Xn2 { get; }    // ffn-normed [n, dim]
    public float[] Rstd2 { get; }  // [n]
    public float[] G { get; }      // gate pre-activation [n, ff]
    public float[] U { get; }      // up [n, ff]
    public float[] H { get; }      // silu(G)·U [n, ff]
    public float[][] R { get; }    // per target: A·x̃ [n, rank]

    /// <summary>Floats one block's activations take for <paramref name="capacity"/> tokens.</summary>
    public static long FloatsFor(ModelConfig c, int capacity, int rank, IReadOnlyList<LoraTarget> targets) =>
        (long)capacity * (4L * c.EmbeddingLength + 2 + 2L * c.QDim + 2L * c.KvDim + c.HeadCount + 3L * c.FeedForwardLength + (long)rank * targets.Distinct().Count());

    /// <summary>Floats held (for memory estimates).</summary>
    public long Floats => Xn.Length + Rstd1.Length + Q.Length + K.Length + V.Length + Lse.Length + Att.Length + X2.Length + Xn2.Length
        + Rstd2.Length + G.Length + U.Length + H.Length + R.Sum(r => (long)r.Length);
}
