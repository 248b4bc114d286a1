using System.Text.Json;

using Cria.Core.Gguf;
using Cria.Core.Quantization;
using Cria.Core.Sampling;
using Cria.Numerics;
using Cria.Numerics.Quants;
using Cria.Numerics.Threading;

namespace Cria.Core.Synthetic;

/// <summary>
/// Writes a GGUF "llama" model of a named shape with random weights, for speed and correctness
/// comparisons when no real checkpoint of that size is at hand. Matrices are N(0, 0.02), norm
/// weights 1.0; every row is drawn from its own generator seeded by (seed, tensor, row), so a file
/// depends only on its arguments, never on the thread count. Tensors are produced row chunk by row
/// chunk while the file is written, so memory stays small whatever the model size. The tokenizer
/// metadata comes from a real vocabulary (a vocab GGUF, or a Hugging Face tokenizer.json for
/// byte-level BPE vocabularies such as Llama 3's).
/// </summary>
public static class SyntheticModel
{
    /// <summary>
    /// Hyperparameters of a shape. <paramref name="VocabSize"/> 0 takes the vocabulary's size.
    /// </summary>
    public sealed record Shape(string Name, int Dim, int FeedForward, int Layers, int Heads, int KvHeads,
        int VocabSize, int ContextLength, float RopeFreqBase, bool TiedOutput);

    /// <summary>The named shapes. Llama 3.2's long-context RoPE scaling is left out (it only changes low frequencies).</summary>
    public static IReadOnlyList<Shape> Shapes { get; } =
    [
        new("tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 10000f, false),
        new("llama3.2-1b", 2048, 8192, 16, 32, 8, 128256, 8192, 500000f, true),
        new("small-110m", 768, 2048, 12, 12, 12, 32000, 2048, 10000f, false),
        new("tiny", 64, 176, 2, 4, 2, 0, 512, 10000f, false),
        new("tiny-h32", 128, 352, 2, 4, 2, 0, 512, 10000f, false),   // heads of 32: whole Q8_0 blocks, for a Q8_0 KV cache
    ];

    public const float WeightStdDev = 0.02f;

    private const int ChunkBytes = 4 << 20;

    public static Shape FindShape(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (Shape s in Shapes)
        {
            if (string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return s;
            }
        }
        throw new ArgumentException($"unknown model shape \"{name}\" (known: {string.Join(", ", Shapes.Select(s => s.Name))})", nameof(name));
    }

    /// <summary>
    /// Writes a model of <paramref name="shape"/> with weights in <paramref name="mix"/> (one of
    /// <see cref="WeightMixes.Names"/>) to <paramref name="outputPath"/> (atomically). <paramref name="vocabPath"/>
    /// is a GGUF whose tokenizer.* metadata is copied, or a tokenizer.json (a tokenizer_config.json beside it, if
    /// present, names BOS and EOS). Progress reports the fraction of tensor bytes written.
    /// </summary>
    public static void Write(string shape, string mix, ulong seed, string outputPath, string vocabPath, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(mix);
        ArgumentNullException.ThrowIfNull(outputPath);
        ArgumentNullException.ThrowIfNull(vocabPath);
        Shape s = FindShape(shape);
        string m = mix.ToLowerInvariant();
        if (!WeightMixes.Names.Contains(m))
        {
            throw new ArgumentException($"unknown weight mix \"{mix}\" (known: {string.Join(", ", WeightMixes.Names)})", nameof(mix));
        }
        if (s.Dim % s.Heads != 0 || s.Heads % s.KvHeads != 0 || (s.Dim / s.Heads) % 2 != 0)
        {
            throw new ArgumentException($"shape {s.Name}: dim {s.Dim}, {s.Heads} heads and {s.KvHeads} kv heads do not divide evenly");
        }

        var w = new GgufWriter();
        List<GgufMetadataEntry> vocab = ReadVocab(vocabPath);
        int vocabSize = VocabCount(vocab, vocabPath);
        if (s.VocabSize != 0 && s.VocabSize != vocabSize)
        {
            throw new ArgumentException($"shape {s.Name} needs a vocabulary of {s.VocabSize} tokens; {vocabPath} has {vocabSize}");
        }
        int headDim = s.Dim / s.Heads;
        int kvDim = headDim * s.KvHeads;
        w.Add("general.architecture", "llama");
        w.Add("general.name", $"synthetic-{s.Name}-{m}");
        w.Add("general.file_type", WeightMixes.FileType(m));
        if (m is not ("f32" or "f16" or "bf16"))
        {
            w.Add("general.quantization_version", 2u);
        }
        w.Add("llama.context_length", (uint)s.ContextLength);
        w.Add("llama.embedding_length", (uint)s.Dim);
        w.Add("llama.feed_forward_length", (uint)s.FeedForward);
        w.Add("llama.block_count", (uint)s.Layers);
        w.Add("llama.attention.head_count", (uint)s.Heads);
        w.Add("llama.attention.head_count_kv", (uint)s.KvHeads);
        w.Add("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.Add("llama.rope.dimension_count", (uint)headDim);
        w.Add("llama.rope.freq_base", s.RopeFreqBase);
        w.Add("llama.vocab_size", (uint)vocabSize);
        foreach (GgufMetadataEntry e in vocab)
        {
            w.Add(e.Key, e.Value);
        }

        var tensors = new List<(string Name, GgmlType Type, long Cols, long Rows)>();
        void Vector(string name, long length) => tensors.Add((name, GgmlType.F32, length, 0));
        void Matrix(string name, long cols, long rows, int layer) =>
            tensors.Add((name, WeightMixes.TensorType(m, name, layer, s.Layers, cols, s.TiedOutput), cols, rows));

        Matrix("token_embd.weight", s.Dim, vocabSize, -1);
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"blk.{l}.";
            Vector(p + "attn_norm.weight", s.Dim);
            Matrix(p + "attn_q.weight", s.Dim, s.Dim, l);
            Matrix(p + "attn_k.weight", s.Dim, kvDim, l);
            Matrix(p + "attn_v.weight", s.Dim, kvDim, l);
            Matrix(p + "attn_output.weight", s.Dim, s.Dim, l);
            Vector(p + "ffn_norm.weight", s.Dim);
            Matrix(p + "ffn_gate.weight", s.Dim, s.FeedForward, l);
            Matrix(p + "ffn_down.weight", s.FeedForward, s.Dim, l);
            Matrix(p + "ffn_up.weight", s.Dim, s.FeedForward, l);
        }
        Vector("output_norm.weight", s.Dim);
        if (!s.TiedOutput)
        {
            Matrix("output.weight", s.Dim, vocabSize, -1);
        }

        long totalBytes = 0;
        foreach (var t in tensors)
        {
            totalBytes += GgmlTypes.RowBytes(t.Type, t.Cols) * Math.Max(1, t.Rows);
        }
        var job = new RowJob(ComputePool.Shared);
        long done = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            (string name, GgmlType type, long cols, long rows) = tensors[i];
            ulong tensorSeed = Mix(seed, (ulong)i);
            if (rows == 0)
            {
                w.AddTensor(name, type, [cols], stream =>
                {
                    var ones = new float[cols];
                    Array.Fill(ones, 1f);
                    stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ones.AsSpan()));
                    done += cols * sizeof(float);
                    progress?.Report((double)done / totalBytes);
                });
            }
            else
            {
                w.AddTensor(name, type, [cols, rows], stream =>
                {
                    job.WriteMatrix(stream, type, (int)cols, (int)rows, tensorSeed);
                    done += GgmlTypes.RowBytes(type, cols) * rows;
                    progress?.Report((double)done / totalBytes);
                });
            }
        }
        w.Save(outputPath);
    }

    private static ulong Mix(ulong a, ulong b)
    {
        ulong z = a + (0x9E3779B97F4A7C15UL * (b + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static List<GgufMetadataEntry> ReadVocab(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such vocabulary file", path);
        }
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return HuggingFaceVocab(path);
        }
        using GgufFile f = GgufFile.Open(path);
        var list = new List<GgufMetadataEntry>();
        foreach (GgufMetadataEntry e in f.Metadata)
        {
            if (e.Key.StartsWith("tokenizer.", StringComparison.Ordinal))
            {
                list.Add(e);
            }
        }
        return list;
    }

    private static int VocabCount(List<GgufMetadataEntry> vocab, string path)
    {
        foreach (GgufMetadataEntry e in vocab)
        {
            if (e.Key == "tokenizer.ggml.tokens" && e.Value.AsArray() is GgufArray a && a.Count > 0)
            {
                return a.Count;
            }
        }
        throw new FormatException($"{path}: no tokenizer.ggml.tokens array");
    }

    /// <summary>
    /// Byte-level BPE metadata as llama.cpp's converter writes it for Llama 3 ("gpt2" model,
    /// "llama-bpe" pre-tokenizer): tokens by id, type 3 (control) for special added tokens and 4
    /// (user-defined) for other added tokens, merges as "a b" strings.
    /// </summary>
    private static List<GgufMetadataEntry> HuggingFaceVocab(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement model = doc.RootElement.GetProperty("model");
        if (model.GetProperty("type").GetString() != "BPE")
        {
            throw new FormatException($"{path}: only BPE tokenizer.json files can be converted");
        }
        var byId = new Dictionary<int, (string Text, int Type)>();
        foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject())
        {
            byId[p.Value.GetInt32()] = (p.Name, 1);
        }
        if (doc.RootElement.TryGetProperty("added_tokens", out JsonElement added))
        {
            foreach (JsonElement t in added.EnumerateArray())
            {
                bool special = t.TryGetProperty("special", out JsonElement sp) && sp.GetBoolean();
                byId[t.GetProperty("id").GetInt32()] = (t.GetProperty("content").GetString()!, special ? 3 : 4);
            }
        }
        int count = byId.Keys.Max() + 1;
        var tokens = new string[count];
        var types = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (byId.TryGetValue(i, out var t))
            {
                (tokens[i], types[i]) = t;
            }
            else
            {
                (tokens[i], types[i]) = ($"[PAD{i}]", 5); // unused
            }
        }
        var merges = new List<string>();
        foreach (JsonElement mg in model.GetProperty("merges").EnumerateArray())
        {
            merges.Add(mg.ValueKind == JsonValueKind.Array ? $"{mg[0].GetString()} {mg[1].GetString()}" : mg.GetString()!);
        }
        int IdOf(string? text, int fallback)
        {
            for (int i = 0; text is not null && i < count; i++)
            {
                if (tokens[i] == text)
                {
                    return i;
                }
            }
            return fallback;
        }
        string? bos = null, eos = null;
        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "tokenizer_config.json");
        if (File.Exists(config))
        {
            using JsonDocument cfg = JsonDocument.Parse(File.ReadAllBytes(config));
            bos = TokenText(cfg.RootElement, "bos_token");
            eos = TokenText(cfg.RootElement, "eos_token");
        }
        int bosId = IdOf(bos ?? "<|begin_of_text|>", -1);
        int eosId = IdOf(eos ?? "<|end_of_text|>", -1);
        var list = new List<GgufMetadataEntry>
        {
            new("tokenizer.ggml.model", GgufValue.From("gpt2")),
            new("tokenizer.ggml.pre", GgufValue.From("llama-bpe")),
            new("tokenizer.ggml.tokens", GgufValue.From(tokens)),
            new("tokenizer.ggml.token_type", GgufValue.From(types)),
            new("tokenizer.ggml.merges", GgufValue.From(merges.ToArray())),
        };
        if (bosId >= 0)
        {
            list.Add(new("tokenizer.ggml.bos_token_id", GgufValue.From((uint)bosId)));
        }
        if (eosId >= 0)
        {
            list.Add(new("tokenizer.ggml.eos_token_id", GgufValue.From((uint)eosId)));
        }
        list.Add(new("tokenizer.ggml.add_bos_token", GgufValue.From(bosId >= 0)));
        list.Add(new("tokenizer.ggml.add_eos_token", GgufValue.From(false)));
        return list;
    }

    private static string? TokenText(JsonElement config, string key)
    {
        if (!config.TryGetProperty(key, out JsonElement v))
        {
            return null;
        }
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out JsonElement c) => c.GetString(),
            _ => null,
        };
    }

    /// <summary>
    /// Fills chunks of rows in parallel and writes them in order. Row r of a tensor is drawn from
    /// an Rng seeded with Mix(tensorSeed, r), so the bytes do not depend on the thread count.
    /// </summary>
    private sealed class RowJob(ComputePool pool) : ParallelJob
    {
        private readonly float[][] _rows = new float[pool.ThreadCount][];
        private byte[] _chunk = [];
        private GgmlType _type;
        private int _cols;
        private long _rowBytes;
        private int _firstRow;
        private ulong _seed;

        public void WriteMatrix(Stream stream, GgmlType type, int cols, int rows, ulong seed)
        {
            _type = type;
            _cols = cols;
            _seed = seed;
            _rowBytes = GgmlTypes.RowBytes(type, cols);
            int rowsPerChunk = (int)Math.Max(1, Math.Min(rows, ChunkBytes / _rowBytes));
            if (_chunk.Length < rowsPerChunk * _rowBytes)
            {
                _chunk = new byte[rowsPerChunk * _rowBytes];
            }
            for (_firstRow = 0; _firstRow < rows; _firstRow += rowsPerChunk)
            {
                int n = Math.Min(rowsPerChunk, rows - _firstRow);
                pool.For(this, n);
                stream.Write(_chunk, 0, (int)(n * _rowBytes));
            }
        }

        public override void Execute(int start, int end, int worker)
        {
            float[] x = _rows[worker] is { } buf && buf.Length >= _cols ? buf : (_rows[worker] = new float[_cols]);
            Span<float> row = x.AsSpan(0, _cols);
            for (int i = start; i < end; i++)
            {
                var rng = new Rng(Mix(_seed, (ulong)(_firstRow + i)));
                for (int j = 0; j < row.Length; j += 2)
                {
                    // Box–Muller: two independent N(0, 1) values from two uniforms.
                    double u1 = 1.0 - rng.NextDouble();
                    double u2 = rng.NextDouble();
                    double r = Math.Sqrt(-2.0 * Math.Log(u1)) * WeightStdDev;
                    (double sin, double cos) = Math.SinCos(2.0 * Math.PI * u2);
                    row[j] = (float)(r * cos);
                    if (j + 1 < row.Length)
                    {
                        row[j + 1] = (float)(r * sin);
                    }
                }
                Quantize.Row(_type, row, _chunk.AsSpan((int)(i * _rowBytes), (int)_rowBytes));
            }
        }
    }
}
