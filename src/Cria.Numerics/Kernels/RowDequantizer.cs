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
            case GgmlType.BF16:
                BF16(MemoryMarshal.Cast<byte, ushort>(src), dst);
                break;
            case GgmlType.Q4_0:
                Q4_0(src, dst);
                break;
            case GgmlType.Q8_0:
                Q8_0(src, dst);
                break;
            case GgmlType.Q4_K:
                Q4_K(src, dst);
                break;
            case GgmlType.Q6_K:
                Q6_K(src, dst);
                break;
            default:
                Dequantize.Row(type, src, dst);
                break;
        }
    }

    private static void Check(ReadOnlySpan<byte> src, Span<float> dst, int typeSize, int blockSize = 32)
    {
        if (dst.Length % blockSize != 0 || src.Length != dst.Length / blockSize * typeSize)
        {
            throw new ArgumentException($"dequantizing needs whole blocks: {src.Length} bytes for {dst.Length} values");
        }
    }

    /// <summary>BF16: the upper half of a float32.</summary>
    private static void BF16(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (src.Length != dst.Length)
        {
            throw new ArgumentException($"dequantizing needs {dst.Length} BF16 values, got {src.Length}");
        }
        int i = 0;
        for (; i + 8 <= dst.Length; i += 8)
        {
            (Vector128<uint> a, Vector128<uint> b) = Vector128.Widen(Vector128.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetReference(src), i)));
            Vector128.ShiftLeft(a, 16).AsSingle().StoreUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetReference(dst), i));
            Vector128.ShiftLeft(b, 16).AsSingle().StoreUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetReference(dst), i + 4));
        }
        for (; i < dst.Length; i++)
        {
            dst[i] = BitConverter.Int32BitsToSingle(src[i] << 16);
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

    /// <summary>Sixteen unsigned 4- or 6-bit values as floats: value·scale − sub (the scalar code's multiply, then subtract).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreAffine(Vector128<byte> q, Vector128<float> scale, Vector128<float> sub, ref float y)
    {
        (Vector128<ushort> w0, Vector128<ushort> w1) = Vector128.Widen(q);
        (Vector128<uint> a, Vector128<uint> b) = Vector128.Widen(w0);
        (Vector128<uint> c, Vector128<uint> e) = Vector128.Widen(w1);
        ((Vector128.ConvertToSingle(a.AsInt32()) * scale) - sub).StoreUnsafe(ref y);
        ((Vector128.ConvertToSingle(b.AsInt32()) * scale) - sub).StoreUnsafe(ref Unsafe.Add(ref y, 4));
        ((Vector128.ConvertToSingle(c.AsInt32()) * scale) - sub).StoreUnsafe(ref Unsafe.Add(ref y, 8));
        ((Vector128.ConvertToSingle(e.AsInt32()) * scale) - sub).StoreUnsafe(ref Unsafe.Add(ref y, 12));
    }

    /// <summary>
    /// Q4_K: per 256 values fp16 d and dmin, eight 6-bit scales and mins, 128 bytes of nibbles; sub-block
    /// j's value is (d·scale_j)·q − dmin·min_j (low nibbles for even j, high for odd, 32 bytes per pair).
    /// </summary>
    private static void Q4_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Check(src, dst, 144, 256);
        Vector128<byte> mask = Vector128.Create((byte)0x0F);
        for (int b = 0; b < dst.Length / 256; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * 144, 144);
            ref byte qs = ref Unsafe.Add(ref MemoryMarshal.GetReference(blk), 16);
            float d = (float)BitConverter.UInt16BitsToHalf(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(blk));
            float dmin = (float)BitConverter.UInt16BitsToHalf(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(blk[2..]));
            ReadOnlySpan<byte> scales = blk.Slice(4, 12);
            ref float y = ref MemoryMarshal.GetReference(dst.Slice(b * 256, 256));
            for (int c = 0; c < 4; c++)
            {
                ScaleMinK4.Get(scales, 2 * c, out int sc0, out int m0);
                ScaleMinK4.Get(scales, (2 * c) + 1, out int sc1, out int m1);
                Vector128<float> d0 = Vector128.Create(d * sc0), min0 = Vector128.Create(dmin * m0);
                Vector128<float> d1 = Vector128.Create(d * sc1), min1 = Vector128.Create(dmin * m1);
                for (int half = 0; half < 2; half++)
                {
                    Vector128<byte> q = Vector128.LoadUnsafe(ref Unsafe.Add(ref qs, (32 * c) + (16 * half)));
                    StoreAffine(q & mask, d0, min0, ref Unsafe.Add(ref y, (64 * c) + (16 * half)));
                    StoreAffine(Vector128.ShiftRightLogical(q, 4), d1, min1, ref Unsafe.Add(ref y, (64 * c) + 32 + (16 * half)));
                }
            }
        }
    }

    /// <summary>
    /// Q6_K: per 256 values 128 bytes of low nibbles, 64 bytes of 2-bit highs, sixteen int8 scales and
    /// fp16 d; value = (d·scale)·(q − 32) with q the 6-bit level, in the scalar code's layout.
    /// </summary>
    private static void Q6_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Check(src, dst, 210, 256);
        Vector128<byte> low = Vector128.Create((byte)0x0F);
        Vector128<byte> two = Vector128.Create((byte)3);
        for (int b = 0; b < dst.Length / 256; b++)
        {
            ReadOnlySpan<byte> blk = src.Slice(b * 210, 210);
            float d = (float)BitConverter.UInt16BitsToHalf(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(blk[208..]));
            for (int h = 0; h < 2; h++)
            {
                ref byte ql = ref Unsafe.Add(ref MemoryMarshal.GetReference(blk), 64 * h);
                ref byte qh = ref Unsafe.Add(ref MemoryMarshal.GetReference(blk), 128 + (32 * h));
                ReadOnlySpan<byte> sc = blk.Slice(192 + (8 * h), 8);
                ref float y = ref MemoryMarshal.GetReference(dst.Slice((b * 256) + (128 * h), 128));
                for (int s = 0; s < 2; s++)
                {
                    int l = 16 * s;
                    Vector128<byte> a = Vector128.LoadUnsafe(ref Unsafe.Add(ref ql, l));
                    Vector128<byte> c = Vector128.LoadUnsafe(ref Unsafe.Add(ref ql, l + 32));
                    Vector128<byte> hi = Vector128.LoadUnsafe(ref Unsafe.Add(ref qh, l));
                    Vector128<byte> q0 = (a & low) | Vector128.ShiftLeft(hi & two, 4);
                    Vector128<byte> q1 = (c & low) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(hi, 2) & two, 4);
                    Vector128<byte> q2 = Vector128.ShiftRightLogical(a, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(hi, 4) & two, 4);
                    Vector128<byte> q3 = Vector128.ShiftRightLogical(c, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(hi, 6) & two, 4);
                    StoreSigned(q0, d * (sbyte)sc[s], ref Unsafe.Add(ref y, l));
                    StoreSigned(q1, d * (sbyte)sc[s + 2], ref Unsafe.Add(ref y, l + 32));
                    StoreSigned(q2, d * (sbyte)sc[s + 4], ref Unsafe.Add(ref y, l + 64));
                    StoreSigned(q3, d * (sbyte)sc[s + 6], ref Unsafe.Add(ref y, l + 96));
                }
            }
        }

        static void StoreSigned(Vector128<byte> q, float ds, ref float y)
        {
            Vector128<float> scale = Vector128.Create(ds);
            Vector128<int> off = Vector128.Create(32);
            (Vector128<ushort> w0, Vector128<ushort> w1) = Vector128.Widen(q);
            (Vector128<uint> a, Vector128<uint> b) = Vector128.Widen(w0);
            (Vector128<uint> c, Vector128<uint> e) = Vector128.Widen(w1);
            (Vector128.ConvertToSingle(a.AsInt32() - off) * scale).StoreUnsafe(ref y);
            (Vector128.ConvertToSingle(b.AsInt32() - off) * scale).StoreUnsafe(ref Unsafe.Add(ref y, 4));
            (Vector128.ConvertToSingle(c.AsInt32() - off) * scale).StoreUnsafe(ref Unsafe.Add(ref y, 8));
            (Vector128.ConvertToSingle(e.AsInt32() - off) * scale).StoreUnsafe(ref Unsafe.Add(ref y, 12));
        }
    }
}
