namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// The register-blocked kernels of <see cref="TiledFloat"/>, widest first. They give the same bits;
/// <see cref="TiledFloat.Preferred"/> is the one this CPU runs, and the tests run every one it can.
/// </summary>
internal enum TiledFloatKernel
{
    /// <summary>32 rows × 12 tokens in 24 Vector512 accumulators.</summary>
    Avx512,

    /// <summary>16 rows × 6 tokens in 12 Vector256 accumulators; one token × 32 rows for decode.</summary>
    Avx2,

    /// <summary>16 rows × 6 tokens in 24 Vector128 accumulators (ARM64, x86 without AVX2); one token × 32 rows for decode.</summary>
    Vector128,

    /// <summary>One float at a time: no SIMD at all.</summary>
    Scalar,
}
