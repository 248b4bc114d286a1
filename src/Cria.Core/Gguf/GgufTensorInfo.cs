using Cria.Numerics;

namespace Cria.Core.Gguf;

/// <summary>
/// One entry of the tensor table. <see cref="Dimensions"/> are ggml's ne[]: ne[0] is the innermost
/// (contiguous) dimension, so a weight matrix of R rows × C columns has Dimensions = [C, R].
/// </summary>
public sealed record GgufTensorInfo(string Name, GgmlType Type, long[] Dimensions, long Offset)
{
    /// <summary>Absolute file offset of the tensor data (data section start + <see cref="Offset"/>).</summary>
    public long FileOffset { get; init; }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Dimensions)
            {
                n *= d;
            }
            return n;
        }
    }

    public long ByteSize => GgmlTypes.RowBytes(Type, Dimensions[0]) * (ElementCount / Math.Max(Dimensions[0], 1));

    /// <summary>Rows of a 2-D (or higher, flattened) tensor: product of ne[1..].</summary>
    public long Rows => Dimensions[0] == 0 ? 0 : ElementCount / Dimensions[0];

    public string ShapeText => "[" + string.Join(", ", Dimensions) + "]";
}
