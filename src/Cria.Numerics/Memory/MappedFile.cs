using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;

using Microsoft.Win32.SafeHandles;

namespace Cria.Numerics.Memory;

/// <summary>
/// A read-only memory map of a whole file. Invariant: every span or pointer handed out lies inside
/// [0, Length) of the mapping, and the mapping stays valid until <see cref="Dispose"/>.
/// Callers that keep raw views (<see cref="WeightMatrix"/>) must keep the file alive as long.
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;

    private MappedFile(string path, SafeFileHandle handle, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr, long length)
    {
        FilePath = path;
        _handle = handle;
        _map = map;
        _view = view;
        _base = basePtr;
        Length = length;
    }

    /// <summary>The path the file was opened from.</summary>
    public string FilePath { get; }

    /// <summary>File size in bytes.</summary>
    public long Length { get; }

    /// <summary>Maps <paramref name="path"/> read-only. An empty file maps to a zero-length view.</summary>
    public static MappedFile Open(string path)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length == 0)
            {
                return new MappedFile(path, handle, null, null, null, 0);
            }
            map = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            return new MappedFile(path, handle, map, view, p, length);
        }
        catch
        {
            view?.Dispose();
            map?.Dispose();
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies [offset, offset+destination.Length) into <paramref name="destination"/> with a positioned
    /// read, not through the mapping, so the pages never enter this process's resident set (they are
    /// served from the page cache). For data read a little at a time from all over a large tensor,
    /// such as token-embedding rows, where touching the mapping would make whole fault-around windows
    /// resident.
    /// </summary>
    public void ReadAt(long offset, Span<byte> destination)
    {
        if (!Contains(offset, destination.Length))
        {
            ThrowOutside(offset, destination.Length);
        }
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        int done = 0;
        while (done < destination.Length)
        {
            int read = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (read == 0)
            {
                throw new EndOfStreamException($"{FilePath}: the file ended at byte {offset + done} while reading [{offset}, {offset}+{destination.Length}); was it truncated while open?");
            }
            done += read;
        }
    }

    /// <summary>True when [offset, offset+length) lies inside the file.</summary>
    public bool Contains(long offset, long length) =>
        offset >= 0 && length >= 0 && offset <= Length && length <= Length - offset;

    /// <summary>A span over [offset, offset+length); throws if the range is outside the file.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        if (!Contains(offset, length))
        {
            ThrowOutside(offset, length);
        }
        ObjectDisposedException.ThrowIf(_base == null && Length != 0, this);
        return new ReadOnlySpan<byte>(_base + offset, length);
    }

    /// <summary>A raw view of a weight matrix stored in this file (rows of <paramref name="cols"/> elements).</summary>
    public WeightMatrix Matrix(GgmlType type, long offset, int rows, int cols)
    {
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        if (rowBytes < 0 || rows < 0 || !Contains(offset, rowBytes * rows))
        {
            ThrowOutside(offset, rowBytes * rows);
        }
        return new WeightMatrix(type, rows, cols, (nint)(_base + offset), rowBytes);
    }

    /// <summary>Reads a little-endian value at <paramref name="offset"/> (bounds checked).</summary>
    public T Read<T>(long offset)
        where T : unmanaged
    {
        if (!Contains(offset, sizeof(T)))
        {
            ThrowOutside(offset, sizeof(T));
        }
        return Unsafe.ReadUnaligned<T>(_base + offset);
    }

    /// <summary>
    /// Tells the OS this process no longer needs the pages of [offset, offset+length) (Linux
    /// madvise MADV_DONTNEED): they leave the resident set, stay in the page cache, and would be
    /// read again from the file if touched. Used after weights were repacked into another buffer.
    /// Does nothing on other systems.
    /// </summary>
    public void ReleasePages(long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || _base == null || !Contains(offset, length))
        {
            return;
        }
        long page = Environment.SystemPageSize;
        long start = (offset + page - 1) / page * page;
        long end = (offset + length) / page * page;
        long baseAddr = (long)_base;
        // The mapping itself starts page-aligned; align absolute addresses.
        long absStart = (baseAddr + start + page - 1) / page * page;
        long absEnd = (baseAddr + end) / page * page;
        if (absEnd > absStart)
        {
            _ = NativeMethods.Madvise((nint)absStart, (nuint)(absEnd - absStart), NativeMethods.MadvDontNeed);
        }
    }

    public void Dispose()
    {
        if (_view != null && _base != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
            _view.Dispose();
            _map?.Dispose();
        }
        _handle.Dispose();
    }

    private void ThrowOutside(long offset, long length) =>
        throw new ArgumentOutOfRangeException(nameof(offset), $"{FilePath}: range [{offset}, {offset}+{length}) is outside the file ({Length} bytes)");
}
