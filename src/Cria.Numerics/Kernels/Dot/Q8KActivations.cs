using System.Runtime.Intrinsics;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// Activation rows quantized to super-blocks of 256 int8 (x ≈ d·q) with the sum of every 16
/// quants — the "vec_dot_type" of the K-quant weight formats (ggml's block_q8_K), whose
/// per-sub-block mins and offsets are corrected through those sums.
/// Shapes: Qs [rows, cols]; D [rows, cols/256]; BSums [rows, cols/16].
/// </summary>
public sealed unsafe class Q8KActivations
{
    public const int Block = 256;

    private sbyte[] _qs = [];
    private float[] _d = [];
    private short[] _bsums = [];

    internal sbyte[] Qs => _qs;

    internal float[] D => _d;

    internal short[] BSums => _bsums;

    public void Quantize(ReadOnlySpan<float> x, int rows, int cols)
    {
        if (cols % Block != 0 || x.Length < (long)rows * cols)
        {
            throw new ArgumentException($"Q8_K activations need rows × cols floats with cols a multiple of {Block}");
        }
        int n = rows * cols;
        if (_qs.Length < n)
        {
            _qs = new sbyte[n];
            _d = new float[n / Block];
            _bsums = new short[n / 16];
        }
        fixed (float* px = x)
        fixed (sbyte* pq = _qs)
        {
            for (int b = 0; b < n / Block; b++)
            {
                float* xb = px + b * Block;
                sbyte* qb = pq + b * Block;
                float d = Vector256.IsHardwareAccelerated ? QuantizeVector(xb, qb, _bsums.AsSpan(b * 16, 16)) : QuantizeScalar(xb, qb, _bsums.AsSpan(b * 16, 16));
                _d[b] = d;
            }
        }
    }

    private static float QuantizeScalar(float* xb, sbyte* qb, Span<short> bsums)
    {
        float amax = 0f;
        for (int i = 0; i < Block; i++)
        {
            amax = MathF.Max(amax, MathF.Abs(xb[i]));
        }
        // As ggml's quantize_row_q8_K (iscale = −127/max, d = 1/iscale), in positive form.
        float id = amax != 0f ? 127f / amax : 0f;
        float d = amax != 0f ? 1f / id : 0f;
        for (int s = 0; s < Block / 16; s++)
        {
            int sum = 0;
            for (int i = s * 16; i < s * 16 + 16; i++)
            {
                int v = (int)MathF.Round(xb[i] * id);
                qb[i] = (sbyte)v;
                sum += v;
            }
            bsums[s] = (short)sum;
        }
        return d;
    }

    private static float QuantizeVector(float* xb, sbyte* qb, Span<short> bsums)
    {
        Vector256<float> m = Vector256<float>.Zero;
        for (int i = 0; i < Block; i += 8)
        {
            m = Vector256.Max(m, Vector256.Abs(Vector256.Load(xb + i)));
        }
        float amax = 0f;
        for (int i = 0; i < 8; i++)
        {
            amax = MathF.Max(amax, m[i]);
        }
        float idv = amax != 0f ? 127f / amax : 0f;
        float d = amax != 0f ? 1f / idv : 0f;
        Vector256<float> id = Vector256.Create(idv);
        for (int s = 0; s < Block / 16; s++)
        {
            Vector256<int> a = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xb + 16 * s) * id));
            Vector256<int> c = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xb + 16 * s + 8) * id));
            Vector256<short> both = Vector256.Narrow(a, c);
            Vector128<sbyte> packed = Vector128.Narrow(both.GetLower(), both.GetUpper());
            packed.Store(qb + 16 * s);
            bsums[s] = (short)Vector256.Sum(a + c);
        }
        return d;
    }
}
