namespace Cria.Numerics.Memory;

/// <summary>
/// A row-major matrix of <see cref="Rows"/> × <see cref="Cols"/> elements of <see cref="Type"/>, stored
/// as whole blocks per row, that lives in memory owned by someone else (a <see cref="MappedFile"/>
/// or a <see cref="NativeBuffer"/>). The owner must outlive every use of the view.
/// </summary>
public readonly unsafe struct WeightMatrix
{
    internal WeightMatrix(GgmlType type, int rows, int cols, nint data, long rowBytes, WeightLayout layout = WeightLayout.Rows)
    {
        Type = type;
        Rows = rows;
        Cols = cols;
        Data = data;
        RowBytes = rowBytes;
        Layout = layout;
    }

    /// <summary>How the blocks are arranged: GGUF's row after row, or interleaved tiles for the fast kernels.</summary>
    public WeightLayout Layout { get; }

    public GgmlType Type { get; }

    public int Rows { get; }

    public int Cols { get; }

    public long RowBytes { get; }

    internal nint Data { get; }

    public bool IsEmpty => Data == 0;

    /// <summary>The bytes of row <paramref name="row"/> (row layout only).</summary>
    public ReadOnlySpan<byte> Row(int row)
    {
        if (Layout != WeightLayout.Rows)
        {
            throw new InvalidOperationException("a tiled matrix has no contiguous rows");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        return new ReadOnlySpan<byte>((byte*)Data + (long)row * RowBytes, checked((int)RowBytes));
    }

    /// <summary>A view of rows [start, start+count).</summary>
    public WeightMatrix Slice(int start, int count)
    {
        if ((uint)start > (uint)Rows || (uint)count > (uint)(Rows - start))
        {
            throw new ArgumentOutOfRangeException(nameof(start));
        }
        if (Layout != WeightLayout.Rows)
        {
            throw new InvalidOperationException("a tiled matrix cannot be sliced by rows");
        }
        return new WeightMatrix(Type, count, Cols, Data + (nint)(start * RowBytes), RowBytes);
    }
}

/// <summary>Block arrangement of a <see cref="WeightMatrix"/>.</summary>
public enum WeightLayout
{
    /// <summary>GGUF's layout: each row's blocks contiguous, rows one after another.</summary>
    Rows,

    /// <summary>Eight rows interleaved per block column (see <c>Kernels.Tiled</c>), for the VNNI/AVX2 kernels.</summary>
    Tiled8,

    /// <summary>F32/F16/BF16 in tiles of 32 rows stored column by column (<c>Kernels.Tiled.TiledFloat</c>), for the float GEMM.</summary>
    Tiled32,
}
