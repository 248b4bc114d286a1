using System.Runtime.InteropServices;

namespace Cria.Numerics.Memory;

/// <summary>
/// A 64-byte aligned block of unmanaged memory, zeroed at allocation, freed on dispose. Used for
/// weights that do not come from a mapped file (converted, repacked or test matrices).
/// </summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    private byte* _data;

    public NativeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1), 64);
        NativeMemory.Clear(_data, (nuint)length);
    }

    public long Length { get; }

    internal nint Pointer => (nint)_data;

    public Span<byte> Span(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }
        ObjectDisposedException.ThrowIf(_data == null, this);
        return new Span<byte>(_data + offset, length);
    }

    /// <summary>A matrix view over [offset, offset + rows × row bytes).</summary>
    public WeightMatrix Matrix(GgmlType type, long offset, int rows, int cols)
    {
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        if (rowBytes < 0 || rows < 0 || offset < 0 || rowBytes * rows > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), "matrix does not fit the buffer");
        }
        ObjectDisposedException.ThrowIf(_data == null, this);
        return new WeightMatrix(type, rows, cols, (nint)(_data + offset), rowBytes);
    }

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer()
    {
        Dispose();
    }
}
