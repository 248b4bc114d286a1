using System.Runtime.Intrinsics;

namespace Cria.Numerics.Kernels.Dot;

/// <summary>Portable (Vector128, ARM64 included) signed int8 dot products for the fallback paths.</summary>
internal static class Int8Dot
{
    /// <summary>Σ a_i·b_i over 16 lanes; |a|,|b| ≤ 127 so each product fits int16.</summary>
    public static int Portable16(Vector128<sbyte> a, Vector128<sbyte> b) => Vector128.Sum(Accumulate(Vector128<int>.Zero, a, b));

    /// <summary>
    /// <paramref name="acc"/> plus the 16 products a_i·b_i folded into four int32 lanes (no horizontal
    /// sum: callers sum once per block). |a|·|b| ≤ 127·127 fits int16.
    /// </summary>
    public static Vector128<int> Accumulate(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        (Vector128<short> al, Vector128<short> ah) = Vector128.Widen(a);
        (Vector128<short> bl, Vector128<short> bh) = Vector128.Widen(b);
        (Vector128<int> p0, Vector128<int> p1) = Vector128.Widen(al * bl);
        (Vector128<int> p2, Vector128<int> p3) = Vector128.Widen(ah * bh);
        return acc + p0 + p1 + p2 + p3;
    }
}
