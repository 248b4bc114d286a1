using Cria.Core.Gguf;
using Cria.Numerics;
using Cria.Numerics.Quants;

namespace Cria.Core.Quantization;

/// <summary>
/// Re-encodes the weight matrices of a GGUF model in another type or llama.cpp mix (e.g. q4_0,
/// q8_0, q4_k_m), copying metadata and every other tensor unchanged. Rows are converted one at a
/// time while the output is streamed, so memory stays small, and the output is written
/// atomically (temp file, then rename).
/// </summary>
public static class Quantizer
{
    /// <summary>Summary of a conversion.</summary>
    public sealed record Result(int Converted, int Copied, long InputBytes, long OutputBytes, bool Requantized);

    public static Result Quantize(string inputPath, string outputPath, string mix, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(mix);
        string m = mix.ToLowerInvariant();
        if (!WeightMixes.Names.Contains(m))
        {
            throw new ArgumentException($"unknown type \"{mix}\" (known: {string.Join(", ", WeightMixes.Names)})", nameof(mix));
        }
        if (Path.GetFullPath(inputPath) == Path.GetFullPath(outputPath))
        {
            throw new ArgumentException("the output must be a different file from the input");
        }
        using GgufFile input = GgufFile.Open(inputPath);
        string arch = input.GetString("general.architecture") ?? "llama";
        int layers = (int)(input.GetInteger($"{arch}.block_count") ?? 0);
        bool tied = !input.TryGetTensor("output.weight", out _);

        var w = new GgufWriter(input.Version);
        foreach (GgufMetadataEntry e in input.Metadata)
        {
            if (e.Key != "general.file_type")
            {
                w.Add(e.Key, e.Value);
            }
        }
        w.Add("general.file_type", GgufValue.From(WeightMixes.FileType(m)));
        w.Add("general.quantized_by", "cria");

        long totalRows = 0;
        var plan = new List<(GgufTensorInfo Tensor, GgmlType Target)>();
        bool requantized = false;
        foreach (GgufTensorInfo t in input.Tensors)
        {
            GgmlType target = t.Type;
            if (t.Dimensions.Length == 2 && t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Name != "rope_freqs.weight")
            {
                target = WeightMixes.TensorType(m, t.Name, LayerOf(t.Name), layers, t.Dimensions[0], tied);
                if (target != t.Type && !Dequantize.IsSupported(t.Type))
                {
                    throw new NotSupportedException($"{inputPath}: tensor {t.Name} has type {GgmlTypes.Name(t.Type)}, which cannot be converted");
                }
                requantized |= target != t.Type && t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16);
            }
            plan.Add((t, target));
            totalRows += t.Rows;
        }

        long rowsDone = 0;
        int converted = 0;
        foreach ((GgufTensorInfo t, GgmlType target) in plan)
        {
            if (target == t.Type)
            {
                w.AddTensor(t.Name, t.Type, t.Dimensions, s =>
                {
                    var matrix = input.Matrix(t);
                    for (int r = 0; r < matrix.Rows; r++)
                    {
                        s.Write(matrix.Row(r));
                    }
                    rowsDone += t.Rows;
                    progress?.Report((double)rowsDone / totalRows);
                });
                continue;
            }
            converted++;
            w.AddTensor(t.Name, target, t.Dimensions, s =>
            {
                var matrix = input.Matrix(t);
                var row = new float[matrix.Cols];
                var packed = new byte[GgmlTypes.RowBytes(target, matrix.Cols)];
                for (int r = 0; r < matrix.Rows; r++)
                {
                    Dequantize.Row(t.Type, matrix.Row(r), row);
                    Numerics.Quants.Quantize.Row(target, row, packed);
                    s.Write(packed);
                    if ((r & 255) == 0)
                    {
                        progress?.Report((double)(rowsDone + r) / totalRows);
                    }
                }
                rowsDone += t.Rows;
                progress?.Report((double)rowsDone / totalRows);
            });
        }
        w.Save(outputPath);
        return new Result(converted, plan.Count - converted, input.FileSize, new FileInfo(outputPath).Length, requantized);
    }

    private static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal))
        {
            return -1;
        }
        int dot = name.IndexOf('.', 4);
        return dot > 4 && int.TryParse(name.AsSpan(4, dot - 4), out int layer) ? layer : -1;
    }
}
