using Cria.Core.Gguf;
using Cria.Core.Models;
using Cria.Numerics;
using Cria.Numerics.Quants;

namespace Cria.Core.Adapters;

/// <summary>
/// Bakes LoRA adapters into a model: W' = W + Σ scale · (alpha/rank) · B·A for every matrix an adapter
/// changes, written as a new GGUF (atomically) in the matrix's own type or the one asked for. Other
/// tensors and all metadata are copied; the result records what was merged.
/// </summary>
public static class LoraMerger
{
    /// <summary>Summary of a merge.</summary>
    public sealed record Result(int Merged, int Copied, long OutputBytes);

    /// <param name="basePath">The base model GGUF.</param>
    /// <param name="adapters">Adapter files with their scales.</param>
    /// <param name="outputPath">Where the merged model goes (not the base).</param>
    /// <param name="type">Type of the merged matrices (e.g. "q4_0"); null keeps each matrix's type.</param>
    /// <param name="progress">Fraction done.</param>
    public static Result Merge(string basePath, IReadOnlyList<(string Path, float Scale)> adapters, string outputPath, string? type = null, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        if (adapters.Count == 0)
        {
            throw new ArgumentException("name at least one adapter", nameof(adapters));
        }
        if (Path.GetFullPath(basePath) == Path.GetFullPath(outputPath))
        {
            throw new ArgumentException("the output must be a different file from the base model");
        }
        GgmlType? target = type is null ? null : ParseType(type);
        using GgufFile input = GgufFile.Open(basePath);
        ModelConfig config = ModelConfig.FromGguf(input);
        var loaded = adapters.Select(a => new ActiveAdapter(LoraAdapter.Load(a.Path, config), a.Scale)).ToList();

        var w = new GgufWriter(input.Version);
        foreach (GgufMetadataEntry e in input.Metadata)
        {
            w.Add(e.Key, e.Value);
        }
        w.Add("general.merged_adapters", GgufValue.From(string.Join(", ", loaded.Select(a => $"{a.Adapter.Name}:{a.Scale}"))));

        long totalRows = input.Tensors.Sum(t => t.Rows);
        long rowsDone = 0;
        int merged = 0;
        foreach (GgufTensorInfo t in input.Tensors)
        {
            var updates = new List<(LoraMatrix M, float Scale)>();
            if (LoraAdapter.ParseTarget(t.Name, config.BlockCount) is (int layer, LoraTarget lt))
            {
                foreach (ActiveAdapter a in loaded)
                {
                    if (a.Adapter.Get(layer, lt) is { } m)
                    {
                        updates.Add((m, a.Scale * LoraAdapter.ScaleOf(a.Adapter.Alpha, m.Rank)));
                    }
                }
            }
            if (updates.Count == 0)
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
            if (!Dequantize.IsSupported(t.Type))
            {
                throw new NotSupportedException($"{basePath}: tensor {t.Name} has type {GgmlTypes.Name(t.Type)}, which cannot be merged");
            }
            GgmlType outType = target ?? t.Type;
            merged++;
            w.AddTensor(t.Name, outType, t.Dimensions, s =>
            {
                var matrix = input.Matrix(t);
                var row = new float[matrix.Cols];
                var packed = new byte[GgmlTypes.RowBytes(outType, matrix.Cols)];
                for (int o = 0; o < matrix.Rows; o++)
                {
                    Dequantize.Row(t.Type, matrix.Row(o), row);
                    foreach ((LoraMatrix m, float scale) in updates)
                    {
                        // Row o of B·A is Σ_r B[o, r] · A[r, :].
                        for (int r = 0; r < m.Rank; r++)
                        {
                            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(m.A.AsSpan(r * m.In, m.In), scale * m.B[o * m.Rank + r], row, row);
                        }
                    }
                    Quantize.Row(outType, row, packed);
                    s.Write(packed);
                }
                rowsDone += t.Rows;
                progress?.Report((double)rowsDone / totalRows);
            });
        }
        w.Save(outputPath);
        return new Result(merged, input.Tensors.Count - merged, new FileInfo(outputPath).Length);
    }

    private static GgmlType ParseType(string type) => type.ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32,
        "f16" => GgmlType.F16,
        "bf16" => GgmlType.BF16,
        "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0,
        "q4_1" => GgmlType.Q4_1,
        "q5_0" => GgmlType.Q5_0,
        "q5_1" => GgmlType.Q5_1,
        "q4_k" => GgmlType.Q4_K,
        "q5_k" => GgmlType.Q5_K,
        "q6_k" => GgmlType.Q6_K,
        _ => throw new ArgumentException($"unknown type \"{type}\" for merged matrices (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k)"),
    };
}
