namespace Cria.Numerics.Kernels.Dot;

/// <summary>
/// fp16 → float32 by table lookup (256 KiB, stays in L2): .NET has no F16C intrinsic and the
/// software <see cref="Half"/> conversion is slower than a load in the per-block scale path.
/// </summary>
internal static class Fp16Table
{
    public static readonly float[] Values = Build();

    private static float[] Build()
    {
        var t = new float[65536];
        for (int i = 0; i < t.Length; i++)
        {
            t[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        }
        return t;
    }
}
