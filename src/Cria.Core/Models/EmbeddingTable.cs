using Cria.Core.Gguf;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;

namespace Cria.Core.Models;

/// <summary>
/// Token-embedding rows for the forward pass. A prompt touches a few rows scattered over a large
/// table, and reading them through the file mapping makes every fault-around window (and every large
/// page-cache folio) around them resident: about half of TinyLlama's 35 MiB table after a few
/// hundred tokens, memory the model never uses. Rows are therefore read with positioned reads into a
/// per-thread scratch row and dequantized from there; the table's pages stay in the page cache only.
/// </summary>
public sealed class EmbeddingTable
{
#pragma warning disable IDE1006 // [ThreadStatic] fields take dotnet/runtime's t_ prefix, which .editorconfig cannot express
    [ThreadStatic]
    private static byte[]? t_row;
#pragma warning restore IDE1006

    private readonly GgufFile _file;
    private readonly GgufTensorInfo _tensor;

    internal EmbeddingTable(GgufFile file, GgufTensorInfo tensor, WeightMatrix matrix)
    {
        _file = file;
        _tensor = tensor;
        Matrix = matrix;
    }

    /// <summary>The table as a zero-copy matrix view (for training, which reads it whole).</summary>
    public WeightMatrix Matrix { get; }

    /// <summary>Writes the dequantized embedding of <paramref name="token"/> to <paramref name="destination"/> (Cols floats).</summary>
    public void Lookup(int token, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, Matrix.Rows);
        int rowBytes = checked((int)Matrix.RowBytes);
        byte[] row = t_row is { } r && r.Length >= rowBytes ? r : t_row = new byte[rowBytes];
        Span<byte> bytes = row.AsSpan(0, rowBytes);
        _file.ReadTensor(_tensor, (long)token * rowBytes, bytes);
        Dequantize.Row(Matrix.Type, bytes, destination[..Matrix.Cols]);
    }
}
