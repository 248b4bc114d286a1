using System.Runtime.Intrinsics;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// A batch of activation rows quantized to 8-bit blocks of 32 (symmetric: x ≈ d·q, |q| ≤ 127),
/// with each block's scale and the sum of its quants (so weight formats with an offset, like
/// Q4_0's "nibble − 8", can correct with one multiply per block). This is the "vec_dot_type" of
/// Q8_0 and Q4_0 weights. Shapes: Qs [rows, cols]; D and Sums [rows, cols/32]. Buffers grow on
/// demand and are reused, so steady decoding allocates nothing.
/// </summary>
public sealed unsafe class Q8Activations
{
    public const int Block = 32;

    private sbyte[] _qs = [];
    private float[] _d = [];
    private int[] _sums = [];

    public int Rows { get; private set; }

    public int Cols { get; private set; }

    internal sbyte[] Qs => _qs;

    internal float[] D => _d;

    internal int[] Sums => _sums;

    /// <summary>Quantizes x [rows, cols] (cols a multiple of 32).</summary>
    public void Quantize(ReadOnlySpan<float> x, int rows, int cols)
    {
        if (cols % Block != 0 || x.Length < (long)rows * cols)
        {
            throw new ArgumentException($"Q8 activations need rows × cols floats with cols a multiple of {Block}");
        }
        int blocks = rows * cols / Block;
        if (_qs.Length < rows * cols)
        {
            _qs = new sbyte[rows * cols];
        }
        if (_d.Length < blocks)
        {
            _d = new float[blocks];
            _sums = new int[blocks];
        }
        Rows = rows;
        Cols = cols;
        fixed (float* px = x)
        fixed (sbyte* pq = _qs)
        {
            for (int b = 0; b < blocks; b++)
            {
                (_d[b], _sums[b]) = QuantizeBlock(px + b * Block, pq + b * Block);
            }
        }
    }

    /// <summary>Quantizes 32 floats; returns the scale and the sum of the quants.</summary>
    internal static (float D, int Sum) QuantizeBlock(float* x, sbyte* q)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> v0 = Vector256.Load(x), v1 = Vector256.Load(x + 8), v2 = Vector256.Load(x + 16), v3 = Vector256.Load(x + 24);
            Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float amax = MathF.Max(MathF.Max(MathF.Max(m[0], m[1]), MathF.Max(m[2], m[3])), MathF.Max(MathF.Max(m[4], m[5]), MathF.Max(m[6], m[7])));
            // As ggml's quantize_row_q8_0: q = round(x · 127/amax) (ties to even), d = amax/127
            // stored as fp16. The inverse must be 127/amax, not 1/(amax/127): they differ by an
            // ulp for some amax, which moves values that sit exactly on .5 ties.
            float dv = (float)(Half)(amax / 127f);
            Vector256<float> id = Vector256.Create(amax != 0f ? 127f / amax : 0f);
            Vector256<int> i0 = Vector256.ConvertToInt32(Vector256.Round(v0 * id));
            Vector256<int> i1 = Vector256.ConvertToInt32(Vector256.Round(v1 * id));
            Vector256<int> i2 = Vector256.ConvertToInt32(Vector256.Round(v2 * id));
            Vector256<int> i3 = Vector256.ConvertToInt32(Vector256.Round(v3 * id));
            Vector256<sbyte> packed = Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3));
            packed.Store(q);
            return (dv, Vector256.Sum(i0 + i1 + i2 + i3));
        }
        float max = 0f;
        for (int i = 0; i < Block; i++)
        {
            max = MathF.Max(max, MathF.Abs(x[i]));
        }
        float d = (float)(Half)(max / 127f);
        float inv = max != 0f ? 127f / max : 0f;
        int sum = 0;
        for (int i = 0; i < Block; i++)
        {
            int v = (int)MathF.Round(x[i] * inv);
            q[i] = (sbyte)v;
            sum += v;
        }
        return (d, sum);
    }
}
