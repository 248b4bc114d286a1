using System.Runtime.InteropServices;

using Cria.Numerics;

namespace Cria.Bench;

/// <summary>
/// ggml's own scalar reference conversions, called in the libggml-base that LLamaSharp loaded:
/// <c>to_float</c> (dequantize) and <c>from_float_ref</c> (the reference quantizer llama-quantize
/// uses without an importance matrix) from <c>ggml_get_type_traits</c>. The only unsafe code of
/// this project. The struct layout read here is ggml.h's <c>struct ggml_type_traits</c>
/// (type_name, blck_size, blck_size_interleave, type_size, is_quantized, to_float,
/// from_float_ref); <see cref="Open"/> checks the name and geometry it reads against
/// <see cref="GgmlTypes"/> before any function pointer is used.
/// </summary>
internal sealed unsafe class GgmlReference
{
    private readonly delegate* unmanaged<byte*, float*, long, void> _toFloat;
    private readonly delegate* unmanaged<float*, byte*, long, void> _fromFloat;
    private readonly delegate* unmanaged<float*, byte*, long, void> _cpuFromFloat;
    private readonly delegate* unmanaged<int, float*, nuint, byte*, nuint, byte*, nuint, int, void> _vecDot;
    private byte[] _xq = [];

    private GgmlReference(GgmlType type, nint toFloat, nint fromFloat, GgmlType vecDotType, nint cpuFromFloat, nint vecDot)
    {
        Type = type;
        VecDotType = vecDotType;
        _toFloat = (delegate* unmanaged<byte*, float*, long, void>)toFloat;
        _fromFloat = (delegate* unmanaged<float*, byte*, long, void>)fromFloat;
        _cpuFromFloat = (delegate* unmanaged<float*, byte*, long, void>)cpuFromFloat;
        _vecDot = (delegate* unmanaged<int, float*, nuint, byte*, nuint, byte*, nuint, int, void>)vecDot;
    }

    public GgmlType Type { get; }

    /// <summary>The type ggml's CPU backend converts activations to before a dot product with a row of <see cref="Type"/>.</summary>
    public GgmlType VecDotType { get; }

    public bool CanDequantize => _toFloat != null;

    public bool CanQuantize => _fromFloat != null;

    /// <summary>The traits of <paramref name="type"/>; throws when the library's layout is not the expected one. Call after llama.cpp is loaded.</summary>
    public static GgmlReference Open(GgmlType type)
    {
        nint lib = Library();
        var getTraits = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(lib, "ggml_get_type_traits");
        byte* t = getTraits((int)type);
        string? name = Marshal.PtrToStringUTF8(*(nint*)t);
        long blockSize = *(long*)(t + 8);
        ulong typeSize = *(ulong*)(t + 24);
        if (!string.Equals(name, GgmlTypes.Name(type), StringComparison.OrdinalIgnoreCase) || blockSize != GgmlTypes.BlockSize(type) || typeSize != (ulong)GgmlTypes.TypeSize(type))
        {
            throw new InvalidOperationException($"ggml_type_traits of {GgmlTypes.Name(type)} reads as \"{name}\", block {blockSize}, size {typeSize}: unexpected layout");
        }
        // struct ggml_type_traits_cpu (ggml-cpu.h): from_float, vec_dot, vec_dot_type, nrows.
        var getCpuTraits = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(CpuLibrary(), "ggml_get_type_traits_cpu");
        byte* c = getCpuTraits((int)type);
        var vecDotType = (GgmlType)(*(int*)(c + 16));
        long nrows = *(long*)(c + 24);
        if (*(nint*)(c + 8) != 0 && (!GgmlTypes.IsKnown(vecDotType) || nrows != 1))
        {
            throw new InvalidOperationException($"ggml_type_traits_cpu of {GgmlTypes.Name(type)} reads as vec_dot_type {(int)vecDotType}, nrows {nrows}: unexpected layout");
        }
        // Activations are converted by the from_float of vec_dot_type (ggml-cpu's mul_mat does the same).
        nint activationFromFloat = *(nint*)getCpuTraits((int)vecDotType);
        return new GgmlReference(type, *(nint*)(t + 40), *(nint*)(t + 48), vecDotType, activationFromFloat, *(nint*)(c + 8));
    }

    public bool CanDot => _vecDot != null && (_cpuFromFloat != null || VecDotType == GgmlType.F32);

    /// <summary>
    /// One row times one activation vector the way llama.cpp's CPU backend multiplies them:
    /// <paramref name="x"/> converted to <see cref="VecDotType"/> with the CPU from_float, then vec_dot.
    /// </summary>
    public float Dot(ReadOnlySpan<byte> row, ReadOnlySpan<float> x)
    {
        if (!CanDot || GgmlTypes.RowBytes(Type, x.Length) != row.Length)
        {
            throw new ArgumentException($"cannot dot {row.Length} bytes of {GgmlTypes.Name(Type)} with {x.Length} floats");
        }
        long xBytes = GgmlTypes.RowBytes(VecDotType, x.Length);
        if (_xq.Length < xBytes)
        {
            _xq = new byte[xBytes];
        }
        float s;
        fixed (float* px = x)
        fixed (byte* pq = _xq)
        fixed (byte* pw = row)
        {
            byte* y = (byte*)px;
            if (VecDotType != GgmlType.F32)
            {
                _cpuFromFloat(px, pq, x.Length);
                y = pq;
            }
            _vecDot(x.Length, &s, 0, pw, 0, y, 0, 1);
        }
        return s;
    }

    /// <summary>The activation row as ggml's CPU backend converts it for a dot product with <see cref="Type"/> (bytes of <see cref="VecDotType"/>).</summary>
    public byte[] ConvertActivations(ReadOnlySpan<float> x)
    {
        if (_cpuFromFloat == null || GgmlTypes.RowBytes(VecDotType, x.Length) < 0)
        {
            throw new ArgumentException($"cannot convert {x.Length} floats to {GgmlTypes.Name(VecDotType)}");
        }
        var bytes = new byte[GgmlTypes.RowBytes(VecDotType, x.Length)];
        fixed (float* px = x)
        fixed (byte* pq = bytes)
        {
            _cpuFromFloat(px, pq, x.Length);
        }
        return bytes;
    }

    /// <summary>ggml's to_float over whole blocks.</summary>
    public void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (!CanDequantize || GgmlTypes.RowBytes(Type, dst.Length) != src.Length)
        {
            throw new ArgumentException($"cannot dequantize {src.Length} bytes of {GgmlTypes.Name(Type)} into {dst.Length} floats");
        }
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            _toFloat(s, d, dst.Length);
        }
    }

    /// <summary>ggml's from_float_ref over whole blocks.</summary>
    public void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (!CanQuantize || GgmlTypes.RowBytes(Type, src.Length) != dst.Length)
        {
            throw new ArgumentException($"cannot quantize {src.Length} floats into {dst.Length} bytes of {GgmlTypes.Name(Type)}");
        }
        fixed (float* s = src)
        fixed (byte* d = dst)
        {
            _fromFloat(s, d, src.Length);
        }
    }

    private static nint s_library;
    private static nint s_cpuLibrary;

    private static nint CpuLibrary()
    {
        if (s_cpuLibrary == 0)
        {
            string file = OperatingSystem.IsWindows() ? "ggml-cpu.dll" : OperatingSystem.IsMacOS() ? "libggml-cpu.dylib" : "libggml-cpu.so";
            s_cpuLibrary = NativeLibrary.TryLoad(file, out nint lib) ? lib : throw new InvalidOperationException($"{file} is not loaded; load a model with llama.cpp first");
        }
        return s_cpuLibrary;
    }

    /// <summary>libggml-base as LLamaSharp loaded it (dlopen of an already-loaded soname returns that copy).</summary>
    private static nint Library()
    {
        if (s_library != 0)
        {
            return s_library;
        }
        string file = OperatingSystem.IsWindows() ? "ggml-base.dll" : OperatingSystem.IsMacOS() ? "libggml-base.dylib" : "libggml-base.so";
        if (!NativeLibrary.TryLoad(file, out nint lib))
        {
            throw new InvalidOperationException($"{file} is not loaded; load a model with llama.cpp first");
        }
        s_library = lib;
        return lib;
    }
}
