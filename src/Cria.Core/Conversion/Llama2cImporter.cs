using System.Runtime.InteropServices;

using Cria.Core.Gguf;
using Cria.Numerics;
using Cria.Numerics.Memory;
using Cria.Numerics.Quants;

namespace Cria.Core.Conversion;

/// <summary>Options for <see cref="Llama2cImporter.Import"/>.</summary>
public sealed record Llama2cImportOptions
{
    /// <summary>general.name; defaults to the checkpoint's file name without extension.</summary>
    public string? Name { get; init; }

    /// <summary>general.license (SPDX id), if known.</summary>
    public string? License { get; init; }

    /// <summary>Type for the 2-D weight matrices (norms stay F32).</summary>
    public GgmlType WeightType { get; init; } = GgmlType.F32;
}

/// <summary>
/// Converts a llama2.c checkpoint (karpathy/llama2.c: the legacy "version 0" export, and the
/// "version 1" fp32 export with the "ak42" magic) plus its tokenizer.bin into a GGUF "llama" model
/// that llama.cpp can load. llama2.c already uses GGUF's adjacent-pair RoPE, so Q and K need no
/// permutation. Every header field is checked and the file size must match the shapes exactly.
/// </summary>
public static class Llama2cImporter
{
    private const uint MagicV1 = 0x616b3432; // "ak42"

    /// <summary>Hyperparameters from a llama2.c header.</summary>
    public sealed record Header(int Version, int Dim, int HiddenDim, int Layers, int Heads, int KvHeads, int VocabSize, int SeqLen, bool SharedClassifier, long WeightsOffset);

    public static Header ReadHeader(MappedFile f)
    {
        ArgumentNullException.ThrowIfNull(f);
        string path = f.FilePath;
        if (f.Length < 28)
        {
            throw new ConversionException(path, "header", 0, $"file is {f.Length} bytes; a llama2.c checkpoint header needs at least 28");
        }
        int version = 0;
        long at = 0;
        bool shared;
        if (f.Read<uint>(0) == MagicV1)
        {
            version = f.Read<int>(4);
            if (version != 1)
            {
                throw new ConversionException(path, "version", 4, $"llama2.c export version {version} is not supported (0 and 1 are; version 2 is int8)");
            }
            at = 8;
        }
        int[] h = new int[7];
        for (int i = 0; i < 7; i++)
        {
            h[i] = f.Read<int>(at + 4 * i);
        }
        string[] names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"];
        for (int i = 0; i < 7; i++)
        {
            int v = i == 5 ? Math.Abs(h[i]) : h[i];
            if (v <= 0 || v > 1 << 20)
            {
                throw new ConversionException(path, names[i], at + 4 * i, $"{h[i]} is out of range");
            }
        }
        long offset;
        if (version == 0)
        {
            shared = h[5] > 0;
            offset = 28;
        }
        else
        {
            shared = f.Read<byte>(at + 28) != 0;
            offset = 256;
        }
        var header = new Header(version, h[0], h[1], h[2], h[3], h[4], Math.Abs(h[5]), h[6], shared, offset);
        if (header.Dim % header.Heads != 0 || header.Heads % header.KvHeads != 0 || (header.Dim / header.Heads) % 2 != 0)
        {
            throw new ConversionException(path, "n_heads", at + 12, $"dim {header.Dim}, {header.Heads} heads and {header.KvHeads} kv heads do not divide evenly");
        }
        return header;
    }

    /// <summary>Writes the GGUF to <paramref name="outputPath"/> (atomically) and returns the header read.</summary>
    public static Header Import(string checkpointPath, string tokenizerPath, string outputPath, Llama2cImportOptions? options = null)
    {
        options ??= new Llama2cImportOptions();
        if (options.WeightType != GgmlType.F32 && !Quantize.IsSupported(options.WeightType))
        {
            throw new ArgumentException($"cannot write weights as {GgmlTypes.Name(options.WeightType)}");
        }
        using MappedFile f = MappedFile.Open(checkpointPath);
        Header hp = ReadHeader(f);
        Llama2cTokenizerFile tok = Llama2cTokenizerFile.Read(tokenizerPath, hp.VocabSize);

        long dim = hp.Dim, hidden = hp.HiddenDim, layers = hp.Layers, vocab = hp.VocabSize;
        long headSize = dim / hp.Heads;
        long kvDim = headSize * hp.KvHeads;

        // Float offsets of each weight block, in the order the exporter wrote them.
        var blocks = new Dictionary<string, long>();
        long cursor = 0;
        void Take(string name, long floats)
        {
            blocks[name] = cursor;
            cursor += floats;
        }
        if (hp.Version == 0)
        {
            Take("tok", vocab * dim);
            Take("rms_att", layers * dim);
            Take("wq", layers * dim * dim);
            Take("wk", layers * kvDim * dim);
            Take("wv", layers * kvDim * dim);
            Take("wo", layers * dim * dim);
            Take("rms_ffn", layers * dim);
            Take("w1", layers * hidden * dim);
            Take("w2", layers * dim * hidden);
            Take("w3", layers * hidden * dim);
            Take("rms_final", dim);
            long withoutRope = cursor;
            Take("freq_cis", hp.SeqLen * headSize); // real and imaginary halves, unused
            if (!hp.SharedClassifier)
            {
                Take("wcls", vocab * dim);
            }
            long expected = hp.WeightsOffset + cursor * 4;
            long expectedNoRope = hp.WeightsOffset + (hp.SharedClassifier ? withoutRope : cursor - hp.SeqLen * headSize) * 4;
            if (f.Length != expected && f.Length != expectedNoRope)
            {
                throw new ConversionException(checkpointPath, "weights", hp.WeightsOffset, $"file is {f.Length} bytes; the header's shapes need {expected}");
            }
            if (f.Length == expectedNoRope && !hp.SharedClassifier)
            {
                blocks["wcls"] -= hp.SeqLen * headSize;
            }
        }
        else
        {
            Take("rms_att", layers * dim);
            Take("rms_ffn", layers * dim);
            Take("rms_final", dim);
            Take("tok", vocab * dim);
            Take("wq", layers * dim * dim);
            Take("wk", layers * kvDim * dim);
            Take("wv", layers * kvDim * dim);
            Take("wo", layers * dim * dim);
            Take("w1", layers * hidden * dim);
            Take("w2", layers * dim * hidden);
            Take("w3", layers * hidden * dim);
            if (!hp.SharedClassifier)
            {
                Take("wcls", vocab * dim);
            }
            long expected = hp.WeightsOffset + cursor * 4;
            if (f.Length != expected)
            {
                throw new ConversionException(checkpointPath, "weights", hp.WeightsOffset, $"file is {f.Length} bytes; the header's shapes need {expected}");
            }
        }

        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.name", options.Name ?? Path.GetFileNameWithoutExtension(checkpointPath));
        if (options.License is not null)
        {
            w.Add("general.license", options.License);
        }
        w.Add("general.file_type", (uint)FileType(options.WeightType));
        w.Add("llama.context_length", (uint)hp.SeqLen);
        w.Add("llama.embedding_length", (uint)hp.Dim);
        w.Add("llama.feed_forward_length", (uint)hp.HiddenDim);
        w.Add("llama.block_count", (uint)hp.Layers);
        w.Add("llama.attention.head_count", (uint)hp.Heads);
        w.Add("llama.attention.head_count_kv", (uint)hp.KvHeads);
        w.Add("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.Add("llama.rope.dimension_count", (uint)headSize);
        w.Add("llama.rope.freq_base", 10000f);
        w.Add("llama.vocab_size", (uint)hp.VocabSize);
        w.Add("tokenizer.ggml.model", "llama");
        w.Add("tokenizer.ggml.tokens", GgufValue.From(tok.Pieces));
        w.Add("tokenizer.ggml.scores", GgufValue.From(tok.Scores));
        w.Add("tokenizer.ggml.token_type", GgufValue.From(tok.Types));
        w.Add("tokenizer.ggml.bos_token_id", 1u);
        w.Add("tokenizer.ggml.eos_token_id", 2u);
        w.Add("tokenizer.ggml.unknown_token_id", 0u);
        w.Add("tokenizer.ggml.add_bos_token", true);
        w.Add("tokenizer.ggml.add_eos_token", false);
        w.Add("tokenizer.ggml.add_space_prefix", true);

        void Vector(string name, string block, long index, long length) =>
            w.AddTensor(name, GgmlType.F32, [length], s => CopyFloats(f, hp, blocks[block] + index * length, length, s));
        void Matrix(string name, string block, long index, long rows, long cols)
        {
            // A row that is not a whole number of blocks (stories260K's hidden size 172) stays F32,
            // as llama-quantize falls back for such tensors.
            GgmlType type = cols % GgmlTypes.BlockSize(options.WeightType) == 0 ? options.WeightType : GgmlType.F32;
            w.AddTensor(name, type, [cols, rows], s => WriteMatrix(f, hp, blocks[block] + index * rows * cols, rows, cols, type, s));
        }

        Matrix("token_embd.weight", "tok", 0, vocab, dim);
        for (int l = 0; l < hp.Layers; l++)
        {
            string p = $"blk.{l}.";
            Vector(p + "attn_norm.weight", "rms_att", l, dim);
            Matrix(p + "attn_q.weight", "wq", l, dim, dim);
            Matrix(p + "attn_k.weight", "wk", l, kvDim, dim);
            Matrix(p + "attn_v.weight", "wv", l, kvDim, dim);
            Matrix(p + "attn_output.weight", "wo", l, dim, dim);
            Vector(p + "ffn_norm.weight", "rms_ffn", l, dim);
            Matrix(p + "ffn_gate.weight", "w1", l, hidden, dim);
            Matrix(p + "ffn_down.weight", "w2", l, dim, hidden);
            Matrix(p + "ffn_up.weight", "w3", l, hidden, dim);
        }
        Vector("output_norm.weight", "rms_final", 0, dim);
        if (!hp.SharedClassifier)
        {
            Matrix("output.weight", "wcls", 0, vocab, dim);
        }
        w.Save(outputPath);
        return hp;
    }

    private static int FileType(GgmlType t) => t switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q4_1 => 3,
        GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8,
        GgmlType.Q5_1 => 9,
        GgmlType.Q2_K => 10,
        GgmlType.Q3_K => 12,
        GgmlType.Q4_K => 15,
        GgmlType.Q5_K => 17,
        GgmlType.Q6_K => 18,
        GgmlType.BF16 => 32,
        _ => 0,
    };

    private static void CopyFloats(MappedFile f, Header hp, long floatOffset, long count, Stream s)
    {
        long byteOffset = hp.WeightsOffset + floatOffset * 4;
        long bytes = count * 4;
        for (long done = 0; done < bytes;)
        {
            int n = (int)Math.Min(1 << 20, bytes - done);
            s.Write(f.Span(byteOffset + done, n));
            done += n;
        }
    }

    private static void WriteMatrix(MappedFile f, Header hp, long floatOffset, long rows, long cols, GgmlType type, Stream s)
    {
        if (type == GgmlType.F32)
        {
            CopyFloats(f, hp, floatOffset, rows * cols, s);
            return;
        }
        long rowBytes = GgmlTypes.RowBytes(type, cols);
        var packed = new byte[rowBytes];
        var row = new float[cols];
        for (long r = 0; r < rows; r++)
        {
            MemoryMarshal.Cast<byte, float>(f.Span(hp.WeightsOffset + (floatOffset + r * cols) * 4, (int)(cols * 4))).CopyTo(row);
            Quantize.Row(type, row, packed);
            s.Write(packed);
        }
    }
}
