using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels;

/// <summary>Small SIMD building blocks shared by the dot-product, tiled and attention kernels.</summary>
internal static unsafe class Simd
{
    /// <summary>2^112: the factor by which <see cref="WidenHalves"/> undershoots the true values.</summary>
    public const float HalfRebias = 5.192296858534828e33f;

    /// <summary>
    /// Eight fp16 values as floats ×2^−112, without F16C (which .NET does not expose): sign-extend
    /// to 32 bits, shift left 13, keep the sign and the 15 exponent+mantissa bits. Subnormals come
    /// out right; callers rescale by <see cref="HalfRebias"/> once per result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WidenHalves(void* p) =>
        (Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((short*)p), 13) & Vector256.Create(unchecked((int)0x8FFFE000))).AsSingle();

    /// <summary>One fp16 value as a float, exactly (the scalar form of <see cref="WidenHalves"/>, rescaled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToSingle(ushort h) =>
        BitConverter.Int32BitsToSingle(((short)h << 13) & unchecked((int)0x8FFFE000)) * HalfRebias;

    /// <summary>
    /// acc[r] += Σ_j w[4r + j] · x[j] for the 8 int32 lanes: unsigned weight bytes against one
    /// broadcast dword of signed activations (VNNI vpdpbusd, or vpmaddubsw + vpmaddwd on AVX2,
    /// which is exact while |w·x| pairs fit int16: weights ≤ 63 here).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot4(Vector256<int> acc, Vector256<byte> w, sbyte* x)
    {
        Vector256<sbyte> xb = Vector256.Create(*(int*)x).AsSByte();
        if (AvxVnni.IsSupported)
        {
            return AvxVnni.MultiplyWideningAndAdd(acc, w, xb);
        }
        return acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, xb), Vector256.Create((short)1));
    }
}
