using Cria.Numerics.Memory;

namespace Cria.Numerics.Kernels.Tiled;

/// <summary>
/// Chooses the fastest layout this CPU has a kernel for and rewrites a weight matrix into it.
/// The repacked copy lives in a <see cref="NativeBuffer"/> the caller keeps alive; the caller may
/// then drop the original pages (see <see cref="MappedFile.ReleasePages"/>), so resident memory
/// stays about one copy of the weights.
/// </summary>
public static unsafe class Repacker
{
    /// <summary>True when <paramref name="w"/> would be repacked on this CPU.</summary>
    public static bool CanRepack(WeightMatrix w) =>
        w.Layout == WeightLayout.Rows && (TiledQ4_0.CanRepack(w) || TiledQ8_0.CanRepack(w) || TiledQ4_K.CanRepack(w) || TiledQ6_K.CanRepack(w) || TiledFloat.CanRepack(w));

    /// <summary>The repacked matrix and the buffer that owns it, or the input unchanged (and null).</summary>
    public static (WeightMatrix Matrix, NativeBuffer? Owner) Repack(WeightMatrix w)
    {
        if (!CanRepack(w))
        {
            return (w, null);
        }
        long bytes = w.Type switch
        {
            GgmlType.Q4_K => TiledQ4_K.RepackedBytes(w),
            GgmlType.Q6_K => TiledQ6_K.RepackedBytes(w),
            GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => TiledFloat.RepackedBytes(w),
            _ => w.RowBytes * w.Rows,
        };
        var buffer = new NativeBuffer(bytes);
        byte* dst = (byte*)buffer.Pointer;
        if (TiledFloat.CanRepack(w))
        {
            TiledFloat.Repack(w, dst);
            return (new WeightMatrix(w.Type, w.Rows, w.Cols, (nint)dst, w.RowBytes, WeightLayout.Tiled32), buffer);
        }
        if (w.Type == GgmlType.Q4_0)
        {
            TiledQ4_0.Repack(w, dst);
        }
        else if (w.Type == GgmlType.Q4_K)
        {
            TiledQ4_K.Repack(w, dst);
        }
        else if (w.Type == GgmlType.Q6_K)
        {
            TiledQ6_K.Repack(w, dst);
        }
        else
        {
            TiledQ8_0.Repack(w, dst);
        }
        return (new WeightMatrix(w.Type, w.Rows, w.Cols, (nint)dst, w.RowBytes, WeightLayout.Tiled8), buffer);
    }
}
