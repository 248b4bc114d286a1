using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

using Cria.Core.Models;

namespace Cria.Core.Training;

/// <summary>
/// Everything a run needs to continue exactly: options, optimizer steps done, the data and base
/// fingerprints, the loss curve, the LoRA factors and AdamW's moments. Random streams are functions of
/// (seed, position) (see <see cref="SeedMix"/>), so the step count is the whole generator and data state.
/// </summary>
public sealed class TrainerState
{
    public required TrainingOptions Options { get; init; }

    public required LoraParameters Parameters { get; init; }

    public required AdamW Optimizer { get; init; }

    public required LossLog Log { get; init; }

    /// <summary>Optimizer steps done (also <see cref="AdamW.Step"/>).</summary>
    public int Step => Optimizer.Step;

    /// <summary>Training windows consumed: Step × windows per step (the data position).</summary>
    public long WindowsSeen => (long)Step * Options.WindowsPerStep;

    public required ulong DataFingerprint { get; init; }

    public required string ModelKey { get; init; }
}

/// <summary>
/// Reads and writes training checkpoints. Layout (little-endian): "CRIATRN1", u32 header length, the
/// header (UTF-8 JSON: options, step, fingerprints, loss curve), u32 tensor count, per LoRA matrix
/// u32 layer, target, rank, in, out and then A, Bᵀ and their first and second moments as f32, and
/// finally the SHA-256 of everything before it. A save goes to a temporary file in the same folder,
/// is flushed to disk and renamed over the old checkpoint, so a crash mid-save leaves the last good
/// one. A load verifies the hash first and then every count, size and value against the model, so a
/// truncated, corrupt or foreign file is refused with the reason.
/// </summary>
public static class TrainingCheckpoint
{
    private static readonly byte[] s_magic = "CRIATRN1"u8.ToArray();
    private const int MaxHeaderBytes = 64 << 20;

    public static void Save(string path, TrainerState state)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(state);
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                void Write(ReadOnlySpan<byte> bytes)
                {
                    file.Write(bytes);
                    sha.AppendData(bytes);
                }
                void U32(uint v)
                {
                    Span<byte> b = stackalloc byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(b, v);
                    Write(b);
                }
                void Floats(float[] f) => Write(MemoryMarshal.AsBytes(f.AsSpan()));

                Write(s_magic);
                byte[] header = Header(state);
                U32((uint)header.Length);
                Write(header);
                IReadOnlyList<LoraParameter> all = state.Parameters.All;
                U32((uint)all.Count);
                for (int i = 0; i < all.Count; i++)
                {
                    LoraParameter p = all[i];
                    U32((uint)p.Layer);
                    U32((uint)p.Target);
                    U32((uint)p.Rank);
                    U32((uint)p.In);
                    U32((uint)p.Out);
                    Floats(p.A);
                    Floats(p.BT);
                    Floats(state.Optimizer.FirstMoments[2 * i]);
                    Floats(state.Optimizer.SecondMoments[2 * i]);
                    Floats(state.Optimizer.FirstMoments[2 * i + 1]);
                    Floats(state.Optimizer.SecondMoments[2 * i + 1]);
                }
                file.Write(sha.GetHashAndReset());
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    private static byte[] Header(TrainerState s)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false }))
        {
            TrainingOptions o = s.Options;
            w.WriteStartObject();
            w.WriteString("format", "cria-lora-checkpoint");
            w.WriteNumber("step", s.Step);
            w.WriteNumber("windows_seen", s.WindowsSeen);
            w.WriteString("data_fingerprint", s.DataFingerprint.ToString("x16", CultureInfo.InvariantCulture));
            w.WriteString("model", s.ModelKey);
            w.WriteStartObject("options");
            w.WriteNumber("rank", o.Rank);
            w.WriteNumber("alpha", o.Alpha);
            w.WriteNumber("dropout", o.Dropout);
            w.WriteString("targets", TargetNames.Format(o.Targets));
            w.WriteNumber("lr", o.LearningRate);
            w.WriteNumber("weight_decay", o.WeightDecay);
            w.WriteNumber("beta1", o.Beta1);
            w.WriteNumber("beta2", o.Beta2);
            w.WriteNumber("epsilon", o.Epsilon);
            w.WriteNumber("steps", o.Steps);
            w.WriteNumber("warmup", o.Warmup);
            w.WriteNumber("batch", o.Batch);
            w.WriteNumber("grad_accum", o.GradAccum);
            w.WriteNumber("ctx", o.Context);
            w.WriteString("seed", o.Seed.ToString(CultureInfo.InvariantCulture));
            w.WriteNumber("clip", o.ClipNorm);
            w.WriteEndObject();
            w.WriteStartArray("loss");
            foreach (LossPoint p in s.Log.Points)
            {
                w.WriteStartArray();
                w.WriteNumberValue(p.Step);
                WriteOptional(w, p.TrainLoss);
                WriteOptional(w, p.EvalLoss);
                w.WriteNumberValue(p.LearningRate);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    private static void WriteOptional(Utf8JsonWriter w, double? v)
    {
        if (v is double d && double.IsFinite(d))
        {
            w.WriteNumberValue(d);
        }
        else
        {
            w.WriteNullValue();
        }
    }

    /// <summary>A fingerprint of a base model: its shape and a hash of its norm weights (small, and different for every trained model).</summary>
    public static string ModelKey(LlamaModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelConfig c = model.Config;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(MemoryMarshal.AsBytes(model.Weights.OutputNorm.AsSpan()));
        foreach (LayerWeights l in model.Weights.Layers)
        {
            sha.AppendData(MemoryMarshal.AsBytes(l.AttnNorm.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(l.FfnNorm.AsSpan()));
        }
        string hash = Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
        return string.Create(CultureInfo.InvariantCulture,
            $"{c.Architecture} dim {c.EmbeddingLength} ff {c.FeedForwardLength} layers {c.BlockCount} heads {c.HeadCount}/{c.HeadCountKv} vocab {model.VocabSize} norms {hash}");
    }

    /// <summary>Reads a checkpoint for <paramref name="model"/>.</summary>
    /// <exception cref="InvalidDataException">Truncated, corrupt, not a checkpoint, or for another model; the message says which.</exception>
    public static TrainerState Load(string path, LlamaModel model)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        InvalidDataException Fail(string problem) => new($"{path}: {problem}");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"checkpoint not found: {path}", path);
        }
        long length = new FileInfo(path).Length;
        if (length < s_magic.Length + 8 + 32)
        {
            throw Fail($"not a Cria training checkpoint (only {length} bytes)");
        }
        if (length > int.MaxValue)
        {
            throw Fail($"the checkpoint is {length:N0} bytes; at most 2 GiB are supported");
        }
        byte[] bytes = File.ReadAllBytes(path);
        if (!bytes.AsSpan(0, s_magic.Length).SequenceEqual(s_magic))
        {
            throw Fail("not a Cria training checkpoint (bad magic)");
        }
        byte[] expected = SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32));
        if (!expected.AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
        {
            throw Fail("the checkpoint is truncated or corrupt (SHA-256 mismatch); it was not written completely");
        }
        var r = new CheckpointReader(bytes, bytes.Length - 32, Fail);
        r.Skip(s_magic.Length);
        uint headerLength = r.U32("header length");
        if (headerLength > MaxHeaderBytes || headerLength > r.Remaining)
        {
            throw Fail($"header length {headerLength} is out of range");
        }
        CheckpointHeader header = CheckpointHeader.Parse(r.Bytes((int)headerLength), Fail);
        string key = ModelKey(model);
        if (header.ModelKey != key)
        {
            throw Fail($"the checkpoint was made for another base model ({header.ModelKey}; this one is {key})");
        }
        LoraParameters parameters = LoraParameters.Create(model.Config, header.Options.Rank, header.Options.Alpha, header.Options.Targets, 0);
        var optimizer = new AdamW(parameters) { Step = header.Step };
        uint count = r.U32("tensor count");
        if (count != parameters.All.Count)
        {
            throw Fail($"the checkpoint holds {count} LoRA matrices; rank {header.Options.Rank} on {TargetNames.Format(header.Options.Targets)} of this model has {parameters.All.Count}");
        }
        for (int i = 0; i < count; i++)
        {
            LoraParameter p = parameters.All[i];
            uint layer = r.U32("layer"), target = r.U32("target"), rank = r.U32("rank"), inDim = r.U32("in"), outDim = r.U32("out");
            if (layer != p.Layer || target != (uint)p.Target || rank != p.Rank || inDim != p.In || outDim != p.Out)
            {
                throw Fail($"matrix {i} is layer {layer} target {target} [{outDim}×{rank}·{rank}×{inDim}]; expected {LoraAdapter.TensorName(p.Layer, p.Target)} [{p.Out}×{p.Rank}·{p.Rank}×{p.In}]");
            }
            r.Floats(p.A, "A");
            r.Floats(p.BT, "B");
            r.Floats(optimizer.FirstMoments[2 * i], "moment");
            r.Floats(optimizer.SecondMoments[2 * i], "moment");
            r.Floats(optimizer.FirstMoments[2 * i + 1], "moment");
            r.Floats(optimizer.SecondMoments[2 * i + 1], "moment");
        }
        if (r.Remaining != 0)
        {
            throw Fail($"{r.Remaining} unexpected bytes after the last matrix");
        }
        return new TrainerState
        {
            Options = header.Options,
            Parameters = parameters,
            Optimizer = optimizer,
            Log = header.Log,
            DataFingerprint = header.DataFingerprint,
            ModelKey = header.ModelKey,
        };
    }

    /// <summary>A bounds-checked cursor over the checkpoint bytes (the hash excluded).</summary>
    private sealed class CheckpointReader(byte[] bytes, int end, Func<string, InvalidDataException> fail)
    {
        private int _pos;

        public int Remaining => end - _pos;

        public void Skip(int n) => Bytes(n);

        public ReadOnlySpan<byte> Bytes(int n)
        {
            if (n < 0 || n > Remaining)
            {
                throw fail($"the file ends early (needed {n} bytes at offset {_pos}, {Remaining} left)");
            }
            var span = bytes.AsSpan(_pos, n);
            _pos += n;
            return span;
        }

        public uint U32(string what)
        {
            if (Remaining < 4)
            {
                throw fail($"the file ends early reading {what} at offset {_pos}");
            }
            return BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));
        }

        public void Floats(float[] into, string what)
        {
            long need = (long)into.Length * 4;
            if (need > Remaining)
            {
                throw fail($"the file ends early reading {what} at offset {_pos}");
            }
            MemoryMarshal.Cast<byte, float>(Bytes((int)need)).CopyTo(into);
            foreach (float v in into)
            {
                if (!float.IsFinite(v))
                {
                    throw fail($"{what} holds a value that is not finite");
                }
            }
        }
    }
}
