using System.Globalization;
using System.Runtime.InteropServices;

using Cria.Core.Gguf;
using Cria.Core.Sampling;
using Cria.Numerics;
using Cria.Numerics.Kernels.Tiled;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;

namespace Cria.Bench;

/// <summary>
/// Cria's block formats against ggml's, bit for bit: (1) every row of every non-F32 tensor of a
/// GGUF file dequantized by both; (2) seeded random rows (normal, zero, outlier, tiny, uniform)
/// quantized by both reference quantizers — a difference in (1) or (2) is a format bug, not
/// rounding, and fails the run; (2b) q8_0 KV cache rows written by Cria and by ggml's CPU backend
/// must be the same bytes too. (3) Matrix × vector products of Cria and of ggml's CPU vec_dot
/// against the exact product, for ordinary activations and for activations on a Q4_0 grid (where
/// the activation quantizer meets exact .5 ties, so any difference in how it computes its inverse
/// scale shows up); (3) is reported, not judged.
/// </summary>
internal static class QuantsMode
{
    private static readonly GgmlType[] s_matVecTypes =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    private static readonly GgmlType[] s_types =
    [
        GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    public static int Run(Options o)
    {
        string model = o.Required("model");
        int rows = Math.Max(1, o.Int("rows", 256));
        ulong seed = o.ULong("seed", 1);
        bool verbose = o.Flag("verbose");
        o.ThrowIfUnused();
        LlamaCppEngine.ConfigureLogging(verbose);
        // Loading the model makes LLamaSharp load the native libraries whose ggml this compares with.
        using (new LlamaCppEngine(model, new LlamaCppSettings(256, 32, 1, Cria.Core.Models.KvCacheType.F32, FlashAttention: false)))
        {
        }

        bool ok = true;
        Console.WriteLine($"dequantize every row of {model}: cria vs ggml to_float");
        Console.WriteLine("| type | tensors | rows | rows that differ | max abs diff |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        using (GgufFile f = GgufFile.Open(model))
        {
            var byType = new SortedDictionary<GgmlType, (int Tensors, long Rows, long Bad, double MaxDiff)>();
            foreach (GgufTensorInfo t in f.Tensors)
            {
                if (t.Type == GgmlType.F32)
                {
                    continue;
                }
                GgmlReference reference = GgmlReference.Open(t.Type);
                var m = f.Matrix(t);
                var mine = new float[m.Cols];
                var theirs = new float[m.Cols];
                (int tensors, long n, long bad, double maxDiff) = byType.GetValueOrDefault(t.Type);
                for (int r = 0; r < m.Rows; r++)
                {
                    Dequantize.Row(m.Type, m.Row(r), mine);
                    reference.Dequantize(m.Row(r), theirs);
                    if (!MemoryMarshal.AsBytes(mine.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(theirs.AsSpan())))
                    {
                        bad++;
                        maxDiff = Math.Max(maxDiff, Logits.Difference(mine, theirs).MaxAbs);
                    }
                }
                byType[t.Type] = (tensors + 1, n + m.Rows, bad, maxDiff);
            }
            foreach ((GgmlType type, var s) in byType)
            {
                ok &= s.Bad == 0;
                Console.WriteLine(Inv($"| {GgmlTypes.Name(type)} | {s.Tensors} | {s.Rows} | {s.Bad} | {s.MaxDiff:G4} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine(Inv($"quantize {rows} random rows of 1024 per type: cria vs ggml from_float_ref"));
        Console.WriteLine("| type | rows that differ | blocks that differ |");
        Console.WriteLine("|---|---:|---:|");
        var rng = new Rng(seed);
        var x = new float[1024];
        foreach (GgmlType type in s_types)
        {
            GgmlReference reference = GgmlReference.Open(type);
            int typeSize = GgmlTypes.TypeSize(type);
            var mine = new byte[GgmlTypes.RowBytes(type, x.Length)];
            var theirs = new byte[mine.Length];
            int badRows = 0, badBlocks = 0;
            for (int r = 0; r < rows; r++)
            {
                FillRow(x, r, rng);
                Quantize.Row(type, x, mine);
                reference.Quantize(x, theirs);
                int bad = 0;
                for (int b = 0; b < mine.Length; b += typeSize)
                {
                    bad += mine.AsSpan(b, typeSize).SequenceEqual(theirs.AsSpan(b, typeSize)) ? 0 : 1;
                }
                badRows += bad > 0 ? 1 : 0;
                badBlocks += bad;
            }
            ok &= badRows == 0;
            Console.WriteLine(Inv($"| {GgmlTypes.Name(type)} | {badRows} | {badBlocks} |"));
        }
        // (2b) A q8_0 KV cache row: llama.cpp writes it with the CPU backend's from_float (ggml-cpu's
        // set_rows), not the reference quantizer; Cria's cache writer must give the same bytes.
        Console.WriteLine();
        Console.WriteLine(Inv($"q8_0 KV cache: {rows} random rows of 1024 (and rows of halves up to ±127, where every .5 is a rounding tie): cria's cache writer vs ggml's CPU from_float"));
        Console.WriteLine("| rows | rows that differ |");
        Console.WriteLine("|---|---:|");
        {
            GgmlReference reference = GgmlReference.Open(GgmlType.Q8_0);
            var mine = new byte[Cria.Numerics.Kernels.Attention.Q8_0RowBytes(x.Length)];
            int badRows = 0;
            for (int r = 0; r < 2 * rows; r++)
            {
                FillRow(x, r, rng);
                float amax = x.Max(MathF.Abs);
                if (r >= rows && amax > 0)
                {
                    for (int i = 0; i < x.Length; i++)
                    {
                        x[i] = MathF.Round(x[i] / amax * 254f) / 2f;   // halves in [−127, 127]: d = 1, so every x.5 is a tie
                    }
                }
                Cria.Numerics.Kernels.Attention.QuantizeRowQ8_0(x, mine);
                badRows += mine.AsSpan().SequenceEqual(reference.ConvertActivations(x)) ? 0 : 1;
            }
            ok &= badRows == 0;
            Console.WriteLine(Inv($"| {2 * rows} | {badRows} |"));
        }
        Console.WriteLine();
        MatVec(rng, 64, gridActivations: false);
        Console.WriteLine();
        MatVec(rng, 2048, gridActivations: false);
        Console.WriteLine();
        MatVec(rng, 2048, gridActivations: true);
        Console.WriteLine();
        Console.WriteLine($"RESULT quants_match={(ok ? "true" : "false")}");
        return ok ? 0 : 1;
    }

    /// <summary>
    /// One matrix-vector product per type, three ways: Cria's MatMul, ggml's CPU vec_dot (with its
    /// activation conversion to vec_dot_type), and the exact product of the dequantized weights (in
    /// double); where Cria repacks the format at load, its repacked kernel too (one token and a batch
    /// of five copies of the same token). Errors are relative to max |exact|. Not a pass/fail check: it shows how far each
    /// engine's arithmetic is from the exact product, and from each other.
    /// </summary>
    private static void MatVec(Rng rng, int cols, bool gridActivations)
    {
        const int rows = 256;
        GgmlType[] types = [.. s_matVecTypes.Where(t => cols % GgmlTypes.BlockSize(t) == 0)];
        string path = Path.Combine(Path.GetTempPath(), $"cria-bench-matvec-{Environment.ProcessId}.gguf");
        var w = new GgufWriter();
        w.Add("general.architecture", "none");
        var row = new float[cols];
        foreach (GgmlType type in types)
        {
            var bytes = new byte[GgmlTypes.RowBytes(type, cols) * rows];
            int rowBytes = bytes.Length / rows;
            for (int r = 0; r < rows; r++)
            {
                FillRow(row, 0, rng);
                Quantize.Row(type, row, bytes.AsSpan(r * rowBytes, rowBytes));
            }
            w.AddTensor(GgmlTypes.Name(type), type, [cols, rows], bytes);
        }
        w.Save(path);
        try
        {
            var x = new float[cols];
            for (int i = 0; i < cols; i++)
            {
                // Uniform ±50 with some larger lanes; or values on a Q4_0 grid ((q − 8)·c, what a Q4_0
                // token embedding row looks like after an RMSNorm with unit weights), where x·127/amax
                // lands exactly on .5 for |q − 8| = 4 and the rounding of ties decides the quant.
                x[i] = 50f * (float)((2 * rng.NextDouble()) - 1) * (i % 7 == 0 ? 4f : 1f);
            }
            if (gridActivations)
            {
                // A fresh step c per block of 32, and one lane at −8c so that amax = 8c.
                for (int blk = 0; blk < cols; blk += 32)
                {
                    float c = (float)(0.01 + rng.NextDouble());
                    for (int i = blk; i < blk + 32; i++)
                    {
                        x[i] = ((int)(rng.NextUInt64() % 16) - 8) * c;
                    }
                    x[blk] = -8 * c;
                }
            }
            Console.WriteLine(Inv($"matrix × vector ({rows} × {cols}, x {(gridActivations ? "on a Q4_0 grid (q − 8)·c" : "uniform ±50 with larger lanes")}): error relative to max |exact product|"));
            Console.WriteLine("| weights | ggml vec_dot_type | cria vs exact | ggml vs exact | cria vs ggml | cria repacked vs ggml | cria repacked, batch of 5, vs ggml |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
            using GgufFile f = GgufFile.Open(path);
            using var pool = new Cria.Numerics.Threading.ComputePool(1);
            var y = new float[rows];
            var deq = new float[cols];
            foreach (GgmlType type in types)
            {
                f.TryGetTensor(GgmlTypes.Name(type), out GgufTensorInfo t);
                var m = f.Matrix(t);
                Cria.Numerics.Kernels.MatMul.Run(pool, m, x, y, 1);
                GgmlReference reference = GgmlReference.Open(type);
                double scale = 0, criaErr = 0, ggmlErr = 0, between = 0;
                var exact = new double[rows];
                var theirs = new float[rows];
                for (int r = 0; r < rows; r++)
                {
                    Dequantize.Row(type, m.Row(r), deq);
                    for (int i = 0; i < cols; i++)
                    {
                        exact[r] += (double)deq[i] * x[i];
                    }
                    theirs[r] = reference.Dot(m.Row(r), x);
                    scale = Math.Max(scale, Math.Abs(exact[r]));
                }
                for (int r = 0; r < rows; r++)
                {
                    criaErr = Math.Max(criaErr, Math.Abs(y[r] - exact[r]));
                    ggmlErr = Math.Max(ggmlErr, Math.Abs(theirs[r] - exact[r]));
                    between = Math.Max(between, Math.Abs(y[r] - theirs[r]));
                }
                string tiled = "n/a", batched = "n/a";
                if (Repacker.CanRepack(m))
                {
                    (WeightMatrix packed, NativeBuffer? owner) = Repacker.Repack(m);
                    using (owner)
                    {
                        const int n = 5;
                        var xs = new float[n * cols];
                        var ys = new float[n * rows];
                        for (int b = 0; b < n; b++)
                        {
                            x.CopyTo(xs, b * cols);
                        }
                        Cria.Numerics.Kernels.MatMul.Run(pool, packed, x, y, 1);
                        Cria.Numerics.Kernels.MatMul.Run(pool, packed, xs, ys, n);
                        double one = 0, many = 0;
                        for (int r = 0; r < rows; r++)
                        {
                            one = Math.Max(one, Math.Abs(y[r] - theirs[r]));
                            for (int b = 0; b < n; b++)
                            {
                                many = Math.Max(many, Math.Abs(ys[(b * rows) + r] - theirs[r]));
                            }
                        }
                        tiled = Inv($"{one / scale:G3}");
                        batched = Inv($"{many / scale:G3}");
                    }
                }
                Console.WriteLine(Inv($"| {GgmlTypes.Name(type)} | {GgmlTypes.Name(reference.VecDotType)} | {criaErr / scale:G3} | {ggmlErr / scale:G3} | {between / scale:G3} | {tiled} | {batched} |"));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Row kinds in turn: N(0, 0.02) (most rows), all zero, one outlier, tiny values, uniform ±1.</summary>
    private static void FillRow(float[] x, int r, Rng rng)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(0.02 * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }
        switch (r % 8)
        {
            case 1:
                Array.Clear(x);
                break;
            case 2:
                x[(int)(rng.NextUInt64() % (ulong)x.Length)] = 3f;
                break;
            case 3:
                for (int i = 0; i < x.Length; i++)
                {
                    x[i] *= 1e-6f;
                }
                break;
            case 4:
                for (int i = 0; i < x.Length; i++)
                {
                    x[i] = (float)((2 * rng.NextDouble()) - 1);
                }
                break;
            default:
                break;
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
