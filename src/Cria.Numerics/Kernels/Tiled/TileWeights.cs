using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// How <see cref="TiledFloat"/> reads one weight type: consecutive values of a tile column as
/// floats (16, 8, 2 × 4 or 1 of them), and the factor that undoes the widening. The kernels are generic
/// over these structs, so one kernel body serves F32, F16 and BF16.
/// </summary>
internal unsafe interface ITileWeights
{
    static abstract int ElementBytes { get; }

    /// <summary>Multiplies every finished sum: 2^112 for fp16 (<see cref="Simd.WidenHalves"/>), else 1.</summary>
    static abstract float Scale { get; }

    static abstract Vector512<float> Load16(byte* p);

    static abstract Vector256<float> Load8(byte* p);

    /// <summary>
    /// Eight values as two Vector128 (the portable kernel): one 16-byte load widened in two halves
    /// for fp16/bf16 (ldr q + sxtl/sxtl2 or ushll/ushll2 on ARM64), portable integer ops only.
    /// </summary>
    static abstract void Load4x2(byte* p, out Vector128<float> lo, out Vector128<float> hi);

    static abstract float Load1(byte* p);
}

/// <summary>F32 weights: loaded as they are.</summary>
internal readonly unsafe struct F32Weights : ITileWeights
{
    public static int ElementBytes => 4;

    public static float Scale => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* p) => Vector512.Load((float*)p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* p) => Vector256.Load((float*)p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load4x2(byte* p, out Vector128<float> lo, out Vector128<float> hi)
    {
        lo = Vector128.Load((float*)p);
        hi = Vector128.Load((float*)p + 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* p) => *(float*)p;
}

/// <summary>
/// fp16 weights widened by <see cref="Simd.WidenHalves"/>'s bit trick (no F16C in .NET): the float
/// is the weight × 2^−112, rescaled once per finished sum. The scalar form gives the same bits.
/// </summary>
internal readonly unsafe struct F16Weights : ITileWeights
{
    private const int Mask = unchecked((int)0x8FFFE000);

    public static int ElementBytes => 2;

    public static float Scale => Simd.HalfRebias;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* p) =>
        (Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)), 13) & Vector512.Create(Mask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* p) => Simd.WidenHalves(p);

    /// <summary>The same trick on sign-extended halves: (h &lt;&lt; 13) &amp; mask, as <see cref="Load1"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load4x2(byte* p, out Vector128<float> lo, out Vector128<float> hi)
    {
        Vector128<short> h = Vector128.Load((short*)p);
        Vector128<int> mask = Vector128.Create(Mask);
        lo = (Vector128.ShiftLeft(Vector128.WidenLower(h), 13) & mask).AsSingle();
        hi = (Vector128.ShiftLeft(Vector128.WidenUpper(h), 13) & mask).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* p) => BitConverter.Int32BitsToSingle((*(short*)p << 13) & Mask);
}

/// <summary>bf16 weights: the upper half of a float32.</summary>
internal readonly unsafe struct BF16Weights : ITileWeights
{
    public static int ElementBytes => 2;

    public static float Scale => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* p) =>
        Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((ushort*)p)), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(byte* p) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((ushort*)p), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load4x2(byte* p, out Vector128<float> lo, out Vector128<float> hi)
    {
        Vector128<ushort> h = Vector128.Load((ushort*)p);
        lo = Vector128.ShiftLeft(Vector128.WidenLower(h), 16).AsSingle();
        hi = Vector128.ShiftLeft(Vector128.WidenUpper(h), 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(byte* p) => BitConverter.Int32BitsToSingle(*(ushort*)p << 16);
}

/// <summary>A token count fixed at compile time, so the JIT drops the accumulators a kernel instance does not use.</summary>
internal interface ITokenCount
{
    static abstract int Value { get; }
}

internal readonly struct Tokens1 : ITokenCount
{
    public static int Value => 1;
}

internal readonly struct Tokens2 : ITokenCount
{
    public static int Value => 2;
}

internal readonly struct Tokens4 : ITokenCount
{
    public static int Value => 4;
}

internal readonly struct Tokens6 : ITokenCount
{
    public static int Value => 6;
}

internal readonly struct Tokens8 : ITokenCount
{
    public static int Value => 8;
}

internal readonly struct Tokens12 : ITokenCount
{
    public static int Value => 12;
}
