using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

using Cria.Numerics.Quants;

namespace Cria.Numerics.Kernels;

/// <summary>
/// Dequantizes runs of whole blocks for the training matmuls, which turn every weight back into a
/// float two or three times per step: vectorized paths for F16 (TensorPrimitives), Q4_0 and Q8_0
/// (widen the quants, convert, multiply by the block's scale — the same IEEE operations as the scalar
/// code, so the results are bit-identical to <see cref="Dequantize.Row"/>, which every other type
/// uses and which the tests compare against).
/// </summary>
public static class RowDequantizer
{
    public static void Run(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            Dequantize.Row(type, src, dst);
            return;
        }
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(src)[..dst.Length].CopyTo(dst);
                break;
            case GgmlType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src)[..dst.Length], dst);
                break;
            case GgmlType.Q4_0:
                Q4_0(src, dst);
                break;
            case GgmlType.Q8_0:
                Q8_0(src, dst);
                break;
            default:
                Dequantize.Row(type, src, dst);
                break;
        }
    }

    private static void Check(ReadOnlySpan<byte> src, Span<float> dst, int typeSize)
    {
        if (dst.Length % 32 != 0 || src.Length != dst.Length / 32 * typeSize)
        {
            throw new ArgumentException($"dequantizing needs whole blocks: {src.Length} bytes for {dst.Length} values");
        }
    }

    /// <summary>Q4_0: per 32 values a fp16 scale d and 16 bytes of nibbles; value j is d·(low nibble − 8), j + 16 is d·(high nibble − 8).</summary>
    private static void Q4_0(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Check(src, dst, 18);
        ref byte s = ref MemoryMarshal.GetReference(src);
        ref float y = ref MemoryMarshal.GetReference(dst);
        Vector128<byte> mask = Vector128.Create((byte)0x0F);
        Vector128<int> eight = Vector128.Create(8);
        int blocks = dst.Length / 32;
        for (int b = 0; b < blocks; b++)
        {
            ref byte blk = ref Unsafe.Add(ref s, b * 18);
            float d = (float)Unsafe.ReadUnaligned<Half>(ref blk);
            Vector128<float> vd = Vector128.Create(d);
            Vector128<byte> q = Vector128.LoadUnsafe(ref Unsafe.Add(ref blk, 2));
            ref float yb = ref Unsafe.Add(ref y, b * 32);
            Store(q & mask, vd, eight, ref yb);
            Store(Vector128.ShiftRightLogical(q, 4), vd, eight, ref Unsafe.Add(ref yb, 16));
        }

        static void Store(Vector128<byte> nibbles, Vector128<float> d, Vector128<int> eight, ref float y)
        {
            (Vector128<ushort> w0, Vector128<ushort> w1) = Vector128.Widen(nibbles);
            (Vector128<uint> a, Vector128<uint> b) = Vector128.Widen(w0);
            (Vector128<uint> c, Vector128<uint> e) = Vector128.Widen(w1);
            (Vector128.ConvertToSingle(a.AsInt32() - eight) * d).StoreUnsafe(ref y);
            (Vector128.ConvertToSingle(b.AsInt32() - eight) * d).StoreUnsafe(ref Unsafe.Add(ref y, 4));
            (Vector128.ConvertToSingle(c.AsInt32() - eight) * d).StoreUnsafe(ref Unsafe.Add(ref y, 8));
            (Vector128.ConvertToSingle(e.AsInt32() - eight) * d).StoreUnsafe(ref Unsafe.Add(ref y, 12));
        }
    }

    /// <summary>Q8_0: per 32 values a fp16 scale d and 32 signed bytes; value j is d·q_j.</summary>
    private static void Q8_0(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Check(src, dst, 34);
        ref byte s = ref MemoryMarshal.GetReference(src);
        ref float y = ref MemoryMarshal.GetReference(dst);
        int blocks = dst.Length / 32;
        for (int b = 0; b < blocks; b++)
        {
            ref byte blk = ref Unsafe.Add(ref s, b * 34);
            Vector128<float> vd = Vector128.Create((float)Unsafe.ReadUnaligned<Half>(ref blk));
            ref float yb = ref Unsafe.Add(ref y, b * 32);
            for (int h = 0; h < 2; h++)
            {
                Vector128<sbyte> q = Vector128.LoadUnsafe(ref Unsafe.Add(ref blk, 2 + 16 * h)).AsSByte();
                (Vector128<short> w0, Vector128<short> w1) = Vector128.Widen(q);
                (Vector128<int> a, Vector128<int> b2) = Vector128.Widen(w0);
                (Vector128<int> c, Vector128<int> e) = Vector128.Widen(w1);
                ref float yh = ref Unsafe.Add(ref yb, 16 * h);
                (Vector128.ConvertToSingle(a) * vd).StoreUnsafe(ref yh);
                (Vector128.ConvertToSingle(b2) * vd).StoreUnsafe(ref Unsafe.Add(ref yh, 4));
                (Vector128.ConvertToSingle(c) * vd).StoreUnsafe(ref Unsafe.Add(ref yh, 8));
                (Vector128.ConvertToSingle(e) * vd).StoreUnsafe(ref Unsafe.Add(ref yh, 12));
            }
        }
    }
}
