namespace Cria.Core.Models.Blocks;

/// <summary>
/// The activation buffers of one forward pass over up to <see cref="Capacity"/> tokens, allocated once.
/// Shapes are [capacity, width] row-major; token t of the batch uses row t.
/// </summary>
internal sealed class Activations
{
    public Activations(ModelConfig config, int capacity)
    {
        Capacity = capacity;
        Dim = config.EmbeddingLength;
        X = new float[capacity * Dim];
        Xb = new float[capacity * Dim];
        Q = new float[capacity * config.QDim];
        K = new float[capacity * config.KvDim];
        V = new float[capacity * config.KvDim];
        Att = new float[capacity * config.QDim];
        Hb = new float[capacity * config.FeedForwardLength];
        Hb2 = new float[capacity * config.FeedForwardLength];
        RopeCos = new float[capacity * (config.RopeDimensions / 2)];
        RopeSin = new float[capacity * (config.RopeDimensions / 2)];
    }

    public int Capacity { get; }
    public int Dim { get; }       // width of the residual stream
    public float[] X { get; }     // residual stream [capacity, dim]
    public float[] Xb { get; }    // normed input / block output [capacity, dim]
    public float[] Q { get; }     // [capacity, qDim]
    public float[] K { get; }     // [capacity, kvDim]
    public float[] V { get; }     // [capacity, kvDim]
    public float[] Att { get; }   // attention output [capacity, qDim]
    public float[] Hb { get; }    // gate / SwiGLU [capacity, ff]
    public float[] Hb2 { get; }   // up [capacity, ff]
    public float[] RopeCos { get; }   // [capacity, ropeDims/2] for the positions of the batch
    public float[] RopeSin { get; }
}
