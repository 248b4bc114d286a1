using Cria.Core.Gguf;
using Cria.Numerics;
using Cria.Numerics.Kernels.Tiled;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;

namespace Cria.Core.Models;

/// <summary>The weights of one transformer block. Matrices are zero-copy views into the GGUF mapping.</summary>
public sealed class LayerWeights
{
    public required float[] AttnNorm { get; init; }   // [dim]
    public required WeightMatrix Wq { get; init; }     // [qDim, dim]
    public required WeightMatrix Wk { get; init; }     // [kvDim, dim]
    public required WeightMatrix Wv { get; init; }     // [kvDim, dim]
    public required WeightMatrix Wo { get; init; }     // [dim, qDim]
    public float[]? Bq { get; init; }                 // [qDim] (qwen2)
    public float[]? Bk { get; init; }                 // [kvDim]
    public float[]? Bv { get; init; }                 // [kvDim]
    public required float[] FfnNorm { get; init; }    // [dim]
    public required WeightMatrix Gate { get; init; }   // [ff, dim]  (w1)
    public required WeightMatrix Up { get; init; }     // [ff, dim]  (w3)
    public required WeightMatrix Down { get; init; }   // [dim, ff]  (w2)
}

/// <summary>
/// All weights of a Llama-family model, bound by name through one explicit table (GGUF tensor names
/// as llama.cpp writes them) and shape-checked at load, so a missing or misshapen tensor is an
/// error naming it, not a crash at the first token.
/// </summary>
public sealed class LlamaWeights
{
    public required WeightMatrix TokenEmbedding { get; init; }  // [vocab, dim]
    public required EmbeddingTable Embeddings { get; init; }    // the same rows, read for lookups without mapping them
    public required LayerWeights[] Layers { get; init; }
    public required float[] OutputNorm { get; init; }           // [dim]
    public required WeightMatrix Output { get; init; }          // [vocab, dim] (= TokenEmbedding when tied)
    public float[]? RopeFreqFactors { get; init; }              // [ropeDims/2] (llama3 scaling)
    public bool TiedOutput { get; init; }

    /// <summary>Buffers holding weights repacked for the fast kernels; released with the model.</summary>
    public IReadOnlyList<NativeBuffer> Owned { get; init; } = [];

    /// <summary>Matrices stored in a repacked layout.</summary>
    public int RepackedCount => Owned.Count;

    public int VocabSize => TokenEmbedding.Rows;

    /// <param name="repack">Rewrite matrices into the tiled layout of the fast kernels where this CPU has one.</param>
    public static LlamaWeights Bind(GgufFile file, ModelConfig c, bool repack = true)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(c);
        var binder = new Binder(file, repack);
        try
        {
            return BindAll(file, c, binder);
        }
        catch
        {
            foreach (NativeBuffer b in binder.Owned)
            {
                b.Dispose();
            }
            throw;
        }
    }

    private static LlamaWeights BindAll(GgufFile file, ModelConfig c, Binder binder)
    {
        binder.RepackAll(!file.TryGetTensor("output.weight", out _));
        WeightMatrix embd = binder.Matrix("token_embd.weight", c.EmbeddingLength, -1, fast: false);
        int vocab = embd.Rows;
        var layers = new LayerWeights[c.BlockCount];
        for (int i = 0; i < layers.Length; i++)
        {
            string p = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttnNorm = binder.Vector(p + "attn_norm.weight", c.EmbeddingLength),
                Wq = binder.Matrix(p + "attn_q.weight", c.EmbeddingLength, c.QDim),
                Wk = binder.Matrix(p + "attn_k.weight", c.EmbeddingLength, c.KvDim),
                Wv = binder.Matrix(p + "attn_v.weight", c.EmbeddingLength, c.KvDim),
                Wo = binder.Matrix(p + "attn_output.weight", c.QDim, c.EmbeddingLength),
                Bq = c.HasQkvBias ? binder.Vector(p + "attn_q.bias", c.QDim) : null,
                Bk = c.HasQkvBias ? binder.Vector(p + "attn_k.bias", c.KvDim) : null,
                Bv = c.HasQkvBias ? binder.Vector(p + "attn_v.bias", c.KvDim) : null,
                FfnNorm = binder.Vector(p + "ffn_norm.weight", c.EmbeddingLength),
                Gate = binder.Matrix(p + "ffn_gate.weight", c.EmbeddingLength, c.FeedForwardLength),
                Up = binder.Matrix(p + "ffn_up.weight", c.EmbeddingLength, c.FeedForwardLength),
                Down = binder.Matrix(p + "ffn_down.weight", c.FeedForwardLength, c.EmbeddingLength),
            };
        }
        bool tied = !file.TryGetTensor("output.weight", out _);
        // When tied, the output projection gets its own (repacked) copy; lookups keep the original rows.
        WeightMatrix output = binder.Matrix(tied ? "token_embd.weight" : "output.weight", c.EmbeddingLength, vocab, fast: true);
        float[]? factors = null;
        if (file.TryGetTensor("rope_freqs.weight", out _))
        {
            factors = binder.Vector("rope_freqs.weight", c.RopeDimensions / 2);
        }
        else if (c.RopeScaling == RopeScaling.Llama3)
        {
            throw new ModelException($"{file.FilePath}: llama3 RoPE scaling needs the rope_freqs.weight tensor");
        }
        return new LlamaWeights
        {
            TokenEmbedding = embd,
            Embeddings = new EmbeddingTable(file, binder.Find("token_embd.weight"), embd),
            Layers = layers,
            OutputNorm = binder.Vector("output_norm.weight", c.EmbeddingLength),
            Output = output,
            RopeFreqFactors = factors,
            TiedOutput = tied,
            Owned = binder.Owned,
        };
    }

    private sealed class Binder(GgufFile file, bool repack)
    {
        private readonly Dictionary<string, WeightMatrix> _repacked = new(StringComparer.Ordinal);

        public List<NativeBuffer> Owned { get; } = [];

        /// <summary>
        /// Repacks every matrix this CPU has a tiled kernel for, in parallel (load time is mostly
        /// this), before the shape-checked binding picks them up by name.
        /// </summary>
        public void RepackAll(bool tiedOutput)
        {
            if (!repack)
            {
                return;
            }
            var work = new List<(GgufTensorInfo Tensor, WeightMatrix Matrix)>();
            foreach (GgufTensorInfo t in file.Tensors)
            {
                bool isEmbedding = t.Name == "token_embd.weight";
                if (t.Dimensions.Length != 2 || !t.Name.EndsWith(".weight", StringComparison.Ordinal) || (isEmbedding && !tiedOutput)
                    || t.Rows > int.MaxValue || t.Dimensions[0] > int.MaxValue)
                {
                    continue;
                }
                WeightMatrix m = file.Matrix(t);
                if (Repacker.CanRepack(m))
                {
                    work.Add((t, m));
                }
            }
            var results = new (WeightMatrix Matrix, NativeBuffer? Owner)[work.Count];
            Parallel.For(0, work.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                results[i] = Repacker.Repack(work[i].Matrix);
                // A tied token_embd is released too: lookups read its rows without the mapping.
                file.ReleasePages(work[i].Tensor);
            });
            for (int i = 0; i < work.Count; i++)
            {
                Owned.Add(results[i].Owner!);
                _repacked[work[i].Tensor.Name] = results[i].Matrix;
            }
        }

        public GgufTensorInfo Find(string name) =>
            file.TryGetTensor(name, out GgufTensorInfo t) ? t : throw new ModelException($"{file.FilePath}: tensor {name} is missing");

        /// <summary>A matrix with ne = [cols, rows]; rows = -1 accepts any row count.</summary>
        public WeightMatrix Matrix(string name, int cols, int rows, bool fast = true)
        {
            GgufTensorInfo t = Find(name);
            if (t.Dimensions.Length != 2 || t.Dimensions[0] != cols || (rows >= 0 && t.Dimensions[1] != rows))
            {
                throw new ModelException($"{file.FilePath}: tensor {name} has shape {t.ShapeText}; expected [{cols}, {(rows >= 0 ? rows : "n")}]");
            }
            if (!Dequantize.IsSupported(t.Type))
            {
                throw new ModelException($"{file.FilePath}: tensor {name} has unsupported type {GgmlTypes.Name(t.Type)}");
            }
            return fast && _repacked.TryGetValue(name, out WeightMatrix tiled) ? tiled : file.Matrix(t);
        }

        public float[] Vector(string name, int length)
        {
            GgufTensorInfo t = Find(name);
            if (t.ElementCount != length || t.Dimensions[0] != length)
            {
                throw new ModelException($"{file.FilePath}: tensor {name} has shape {t.ShapeText}; expected [{length}]");
            }
            if (!Dequantize.IsSupported(t.Type))
            {
                throw new ModelException($"{file.FilePath}: tensor {name} has unsupported type {GgmlTypes.Name(t.Type)}");
            }
            // A positioned read, not the mapping: these small tensors sit between large ones, and
            // faulting one in maps whole page-cache folios of the repacked (released) neighbours.
            var bytes = new byte[checked((int)t.ByteSize)];
            file.ReadTensor(t, 0, bytes);
            var v = new float[length];
            Dequantize.Row(t.Type, bytes, v);
            return v;
        }
    }
}
