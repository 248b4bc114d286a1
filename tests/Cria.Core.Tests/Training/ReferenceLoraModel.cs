using Cria.Core.Models;
using Cria.Core.Models.Blocks;
using Cria.Core.Training;
using Cria.Core.Training.Ops;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;

namespace Cria.Core.Tests.Training;

/// <summary>
/// The whole model with LoRA in float64, composed from the ops' scalar references only: the ground
/// truth the trainer's float32 gradient is checked against by finite differences. Its LoRA factors
/// are its own double copies (A [rank, in], B [out, rank]), so a perturbation of 1e-5 is exact.
/// </summary>
internal sealed class ReferenceLoraModel
{
    private readonly ModelConfig _c;
    private readonly double[] _embedding; // [vocab, dim]
    private readonly double[] _output;    // [vocab, dim]
    private readonly double[] _outputNorm;
    private readonly Layer[] _layers;
    private readonly double[] _invFreq;
    private readonly int _vocab;

    private sealed record Layer(double[] AttnNorm, double[] FfnNorm, double[][] W); // W by LoraTarget, [out, in]

    public ReferenceLoraModel(LlamaModel model, LoraParameters lora)
    {
        _c = model.Config;
        _vocab = model.VocabSize;
        _embedding = Read(model.Weights.TokenEmbedding);
        _output = Read(model.Weights.Output);
        _outputNorm = model.Weights.OutputNorm.Select(v => (double)v).ToArray();
        _layers = model.Weights.Layers.Select(w => new Layer(
            w.AttnNorm.Select(v => (double)v).ToArray(),
            w.FfnNorm.Select(v => (double)v).ToArray(),
            [Read(w.Wq), Read(w.Wk), Read(w.Wv), Read(w.Wo), Read(w.Gate), Read(w.Up), Read(w.Down)])).ToArray();
        _invFreq = RotaryEmbedding.Frequencies(_c, model.Weights.RopeFreqFactors).Select(v => (double)v).ToArray();
        Scale = lora.Scale;
        foreach (LoraParameter p in lora.All)
        {
            A[(p.Layer, p.Target)] = p.A.Select(v => (double)v).ToArray();
            B[(p.Layer, p.Target)] = p.B().Select(v => (double)v).ToArray();
        }
    }

    public Dictionary<(int Layer, LoraTarget Target), double[]> A { get; } = [];

    public Dictionary<(int Layer, LoraTarget Target), double[]> B { get; } = [];

    public double Scale { get; }

    private static double[] Read(WeightMatrix w)
    {
        var row = new float[w.Cols];
        var all = new double[(long)w.Rows * w.Cols];
        for (int r = 0; r < w.Rows; r++)
        {
            Dequantize.Row(w.Type, w.Row(r), row);
            for (int c = 0; c < w.Cols; c++)
            {
                all[(long)r * w.Cols + c] = row[c];
            }
        }
        return all;
    }

    /// <summary>The mean cross-entropy over the window's targets.</summary>
    public double Loss(TrainingWindow window)
    {
        ModelConfig c = _c;
        int n = window.Length, dim = c.EmbeddingLength, ff = c.FeedForwardLength;
        int[] positions = Enumerable.Range(0, n).Select(t => t - window.SegmentStart[t]).ToArray();
        var x = new double[n * dim];
        for (int t = 0; t < n; t++)
        {
            Array.Copy(_embedding, (long)window.Tokens[t] * dim, x, t * dim, dim);
        }
        for (int l = 0; l < c.BlockCount; l++)
        {
            Layer w = _layers[l];
            var xn = new double[n * dim];
            RmsNormOp.ForwardReference(x, w.AttnNorm, c.RmsEpsilon, xn, n);
            double[] q = Linear(l, LoraTarget.Q, xn, n);
            double[] k = Linear(l, LoraTarget.K, xn, n);
            double[] v = Linear(l, LoraTarget.V, xn, n);
            RopeOp.ForwardReference(q, n, c.HeadCount, c.HeadDim, positions, _invFreq, c.RopeStyle);
            RopeOp.ForwardReference(k, n, c.HeadCountKv, c.HeadDim, positions, _invFreq, c.RopeStyle);
            var att = new double[n * c.QDim];
            AttentionOp.ForwardReference(q, k, v, window.SegmentStart, att, n, c.HeadCount, c.HeadCountKv, c.HeadDim);
            double[] o = Linear(l, LoraTarget.O, att, n);
            double[] x2 = x.Zip(o, (p, r) => p + r).ToArray();
            var xn2 = new double[n * dim];
            RmsNormOp.ForwardReference(x2, w.FfnNorm, c.RmsEpsilon, xn2, n);
            double[] g = Linear(l, LoraTarget.Gate, xn2, n);
            double[] u = Linear(l, LoraTarget.Up, xn2, n);
            var h = new double[n * ff];
            SwiGluOp.ForwardReference(g, u, h);
            double[] d = Linear(l, LoraTarget.Down, h, n);
            x = x2.Zip(d, (p, r) => p + r).ToArray();
        }
        var xf = new double[n * dim];
        RmsNormOp.ForwardReference(x, _outputNorm, c.RmsEpsilon, xf, n);
        var rows = Enumerable.Range(0, n).Where(t => window.Targets[t] >= 0).ToArray();
        var logits = new double[rows.Length * _vocab];
        for (int i = 0; i < rows.Length; i++)
        {
            for (int vtok = 0; vtok < _vocab; vtok++)
            {
                double s = 0;
                for (int e = 0; e < dim; e++)
                {
                    s += _output[(long)vtok * dim + e] * xf[rows[i] * dim + e];
                }
                logits[i * _vocab + vtok] = s;
            }
        }
        return CrossEntropyOp.Reference(logits, _vocab, rows.Select(t => window.Targets[t]).ToArray(), 1, null) / rows.Length;
    }

    private double[] Linear(int l, LoraTarget target, double[] x, int n)
    {
        (int outDim, int inDim) = LoraAdapter.Shape(_c, target);
        var y = new double[n * outDim];
        FrozenLinearOp.ForwardReference(_layers[l].W[(int)target], outDim, inDim, x, y, n);
        if (A.TryGetValue((l, target), out double[]? a))
        {
            LoraOp.ForwardReference(a, B[(l, target)], a.Length / inDim, inDim, outDim, Scale, x, y, n);
        }
        return y;
    }
}
