using Cria.Core.Gguf;
using Cria.Core.Models;
using Cria.Numerics;

namespace Cria.Core.Tests.Models;

/// <summary>
/// The forward pass against a deliberately naive float64 transformer written out here (loops,
/// Math.Cos/Sin, no batching, no cache), on small random models: llama with GQA, qwen2 with QKV
/// biases and NeoX RoPE, linear RoPE scaling, llama3-style rope_freqs, tied output. Every
/// position's logits must agree, for batched prefill and for token-by-token decoding.
/// </summary>
public sealed class NaiveReferenceTests : IDisposable
{
    private const int Dim = 32, Ff = 48, Layers = 2, Heads = 4, KvHeads = 2, Vocab = 40, HeadDim = Dim / Heads;
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-naive-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Spec(string Arch, bool Tied, string? Scaling, float Factor, bool RopeFreqs, int Seed);

    private static float[] Rand(Random rng, int n, float scale)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        }
        return v;
    }

    private string Write(Spec s, Dictionary<string, float[]> w)
    {
        var rng = new Random(s.Seed); // fixed per case, so a failure replays
        var g = new GgufWriter();
        string a = s.Arch;
        g.Add("general.architecture", a);
        g.Add($"{a}.context_length", 64u);
        g.Add($"{a}.embedding_length", (uint)Dim);
        g.Add($"{a}.feed_forward_length", (uint)Ff);
        g.Add($"{a}.block_count", (uint)Layers);
        g.Add($"{a}.attention.head_count", (uint)Heads);
        g.Add($"{a}.attention.head_count_kv", (uint)KvHeads);
        g.Add($"{a}.attention.layer_norm_rms_epsilon", 1e-5f);
        g.Add($"{a}.rope.freq_base", 10000f);
        if (s.Scaling is not null)
        {
            g.Add($"{a}.rope.scaling.type", s.Scaling);
            g.Add($"{a}.rope.scaling.factor", s.Factor);
        }
        void T(string name, float scale, params long[] dims)
        {
            long n = dims.Aggregate(1L, (x, y) => x * y);
            float[] v = name.Contains("norm", StringComparison.Ordinal) ? Rand(rng, (int)n, 0.2f).Select(x => 1f + x).ToArray()
                : name == "rope_freqs.weight" ? Enumerable.Range(0, (int)n).Select(i => 1f + i).ToArray()
                : Rand(rng, (int)n, scale);
            w[name] = v;
            g.AddTensor(name, GgmlType.F32, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray());
        }
        T("token_embd.weight", 1f, Dim, Vocab);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"blk.{l}.";
            T(p + "attn_norm.weight", 0, Dim);
            T(p + "attn_q.weight", 0.3f, Dim, Dim);
            T(p + "attn_k.weight", 0.3f, Dim, KvHeads * HeadDim);
            T(p + "attn_v.weight", 0.3f, Dim, KvHeads * HeadDim);
            if (a == "qwen2")
            {
                T(p + "attn_q.bias", 0.3f, Dim);
                T(p + "attn_k.bias", 0.3f, KvHeads * HeadDim);
                T(p + "attn_v.bias", 0.3f, KvHeads * HeadDim);
            }
            T(p + "attn_output.weight", 0.3f, Dim, Dim);
            T(p + "ffn_norm.weight", 0, Dim);
            T(p + "ffn_gate.weight", 0.3f, Dim, Ff);
            T(p + "ffn_up.weight", 0.3f, Dim, Ff);
            T(p + "ffn_down.weight", 0.3f, Ff, Dim);
        }
        T("output_norm.weight", 0, Dim);
        if (!s.Tied)
        {
            T("output.weight", 0.3f, Dim, Vocab);
        }
        if (s.RopeFreqs)
        {
            T("rope_freqs.weight", 0, HeadDim / 2);
        }
        string path = Path.Combine(_dir, $"{a}-{s.Tied}-{s.Scaling}-{s.RopeFreqs}.gguf");
        g.Save(path);
        return path;
    }

    /// <summary>All positions' logits, computed naively in double.</summary>
    private static double[][] Naive(Spec s, Dictionary<string, float[]> w, int[] tokens)
    {
        bool neox = s.Arch == "qwen2";
        int kvDim = KvHeads * HeadDim;
        double[] MatVec(string name, double[] x, int rows, int cols)
        {
            float[] m = w[name];
            var y = new double[rows];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    y[r] += m[r * cols + c] * x[c];
                }
            }
            return y;
        }
        double[] Norm(double[] x, string name)
        {
            double ms = x.Sum(v => v * v) / x.Length;
            return x.Select((v, i) => v / Math.Sqrt(ms + 1e-5) * w[name][i]).ToArray();
        }
        void RopeInPlace(double[] v, int heads, int pos)
        {
            for (int h = 0; h < heads; h++)
            {
                for (int i = 0; i < HeadDim / 2; i++)
                {
                    double freq = Math.Pow(10000, -2.0 * i / HeadDim);
                    if (s.Scaling == "linear")
                    {
                        freq /= s.Factor;
                    }
                    if (s.RopeFreqs)
                    {
                        freq /= w["rope_freqs.weight"][i];
                    }
                    double th = pos * freq;
                    int a = neox ? i : 2 * i, b = neox ? i + HeadDim / 2 : 2 * i + 1;
                    double x0 = v[h * HeadDim + a], x1 = v[h * HeadDim + b];
                    v[h * HeadDim + a] = x0 * Math.Cos(th) - x1 * Math.Sin(th);
                    v[h * HeadDim + b] = x0 * Math.Sin(th) + x1 * Math.Cos(th);
                }
            }
        }
        var keys = new List<double[]>[Layers];
        var values = new List<double[]>[Layers];
        for (int l = 0; l < Layers; l++)
        {
            keys[l] = [];
            values[l] = [];
        }
        var result = new double[tokens.Length][];
        for (int pos = 0; pos < tokens.Length; pos++)
        {
            double[] x = w["token_embd.weight"].Skip(tokens[pos] * Dim).Take(Dim).Select(v => (double)v).ToArray();
            for (int l = 0; l < Layers; l++)
            {
                string p = $"blk.{l}.";
                double[] xb = Norm(x, p + "attn_norm.weight");
                double[] q = MatVec(p + "attn_q.weight", xb, Dim, Dim);
                double[] k = MatVec(p + "attn_k.weight", xb, kvDim, Dim);
                double[] v = MatVec(p + "attn_v.weight", xb, kvDim, Dim);
                if (neox)
                {
                    q = q.Select((z, i) => z + w[p + "attn_q.bias"][i]).ToArray();
                    k = k.Select((z, i) => z + w[p + "attn_k.bias"][i]).ToArray();
                    v = v.Select((z, i) => z + w[p + "attn_v.bias"][i]).ToArray();
                }
                RopeInPlace(q, Heads, pos);
                RopeInPlace(k, KvHeads, pos);
                keys[l].Add(k);
                values[l].Add(v);
                var att = new double[Dim];
                for (int h = 0; h < Heads; h++)
                {
                    int kvh = h / (Heads / KvHeads);
                    var sc = new double[pos + 1];
                    for (int t = 0; t <= pos; t++)
                    {
                        for (int d = 0; d < HeadDim; d++)
                        {
                            sc[t] += q[h * HeadDim + d] * keys[l][t][kvh * HeadDim + d];
                        }
                        sc[t] /= Math.Sqrt(HeadDim);
                    }
                    double max = sc.Max();
                    double sum = sc.Sum(z => Math.Exp(z - max));
                    for (int t = 0; t <= pos; t++)
                    {
                        for (int d = 0; d < HeadDim; d++)
                        {
                            att[h * HeadDim + d] += Math.Exp(sc[t] - max) / sum * values[l][t][kvh * HeadDim + d];
                        }
                    }
                }
                double[] o = MatVec(p + "attn_output.weight", att, Dim, Dim);
                x = x.Select((z, i) => z + o[i]).ToArray();
                xb = Norm(x, p + "ffn_norm.weight");
                double[] gate = MatVec(p + "ffn_gate.weight", xb, Ff, Dim);
                double[] up = MatVec(p + "ffn_up.weight", xb, Ff, Dim);
                double[] hb = gate.Select((z, i) => z / (1 + Math.Exp(-z)) * up[i]).ToArray();
                double[] down = MatVec(p + "ffn_down.weight", hb, Dim, Ff);
                x = x.Select((z, i) => z + down[i]).ToArray();
            }
            double[] final = Norm(x, "output_norm.weight");
            result[pos] = MatVec(s.Tied ? "token_embd.weight" : "output.weight", final, Vocab, Dim);
        }
        return result;
    }

    // The last column seeds the random weights: fixed, so a failure replays.
    public static TheoryData<string, bool, string?, float, bool, int> Specs() => new()
    {
        { "llama", false, null, 1f, false, 101 },
        { "llama", true, null, 1f, false, 102 },
        { "llama", false, "linear", 4f, false, 103 },
        { "llama", false, null, 1f, true, 104 },
        { "qwen2", false, null, 1f, false, 105 },
        { "qwen2", true, null, 1f, false, 106 },
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void Forward_pass_matches_the_naive_reference(string arch, bool tied, string? scaling, float factor, bool ropeFreqs, int seed)
    {
        var spec = new Spec(arch, tied, scaling, factor, ropeFreqs, seed);
        var w = new Dictionary<string, float[]>();
        string path = Write(spec, w);
        int[] tokens = [3, 17, 5, 39, 0, 22, 22, 8, 31, 1, 12];
        double[][] expected = Naive(spec, w, tokens);
        using LlamaModel model = LlamaModel.Load(GgufFile.Open(path));
        Assert.Equal(tied, model.Weights.TiedOutput);
        foreach (int batch in new[] { 1, 4, 16 })
        {
            InferenceContext ctx = model.CreateContext(32, maxBatch: batch, cacheType: KvCacheType.F32);
            var all = new float[tokens.Length * Vocab];
            model.Forward(ctx, tokens, all);
            for (int p = 0; p < tokens.Length; p++)
            {
                for (int v = 0; v < Vocab; v++)
                {
                    Assert.True(Math.Abs(expected[p][v] - all[p * Vocab + v]) < 2e-4 * (1 + Math.Abs(expected[p][v])),
                        $"seed {seed}, batch {batch}, position {p}, token {v}: expected {expected[p][v]}, got {all[p * Vocab + v]}");
                }
            }
        }
    }
}
