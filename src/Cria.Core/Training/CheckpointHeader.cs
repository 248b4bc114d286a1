using System.Globalization;
using System.Text.Json;

using Cria.Core.Models;

namespace Cria.Core.Training;

/// <summary>The JSON header of a checkpoint, read field by field with every value checked.</summary>
internal sealed record CheckpointHeader(int Step, ulong DataFingerprint, string ModelKey, TrainingOptions Options, LossLog Log)
{
    public static CheckpointHeader Parse(ReadOnlySpan<byte> json, Func<string, InvalidDataException> fail)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw fail($"the header is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            JsonElement Get(JsonElement obj, string name, JsonValueKind kind)
            {
                if (obj.ValueKind != JsonValueKind.Object || !obj.TryGetProperty(name, out JsonElement v) || v.ValueKind != kind)
                {
                    throw fail($"the header has no {kind.ToString().ToLowerInvariant()} \"{name}\"");
                }
                return v;
            }
            int Int(JsonElement obj, string name) =>
                Get(obj, name, JsonValueKind.Number).TryGetInt32(out int v) ? v : throw fail($"header field \"{name}\" is not a 32-bit integer");
            float Float(JsonElement obj, string name) =>
                Get(obj, name, JsonValueKind.Number).TryGetSingle(out float v) && float.IsFinite(v) ? v : throw fail($"header field \"{name}\" is not a finite number");

            if (Get(root, "format", JsonValueKind.String).GetString() != "cria-lora-checkpoint")
            {
                throw fail("the header's format is not cria-lora-checkpoint");
            }
            JsonElement o = Get(root, "options", JsonValueKind.Object);
            IReadOnlyList<LoraTarget> targets;
            try
            {
                targets = TargetNames.Parse(Get(o, "targets", JsonValueKind.String).GetString()!);
            }
            catch (ArgumentException e)
            {
                throw fail($"header: {e.Message}");
            }
            var options = new TrainingOptions
            {
                Rank = Int(o, "rank"),
                Alpha = Float(o, "alpha"),
                Dropout = Float(o, "dropout"),
                Targets = targets,
                LearningRate = Float(o, "lr"),
                WeightDecay = Float(o, "weight_decay"),
                Beta1 = Float(o, "beta1"),
                Beta2 = Float(o, "beta2"),
                Epsilon = Float(o, "epsilon"),
                Steps = Int(o, "steps"),
                WarmupSteps = Int(o, "warmup"),
                Batch = Int(o, "batch"),
                GradAccum = Int(o, "grad_accum"),
                Context = Int(o, "ctx"),
                Seed = ulong.TryParse(Get(o, "seed", JsonValueKind.String).GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
                    ? seed : throw fail("header field \"seed\" is not an unsigned integer"),
                ClipNorm = Float(o, "clip"),
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw fail($"header options are out of range: {e.Message}");
            }
            int step = Int(root, "step");
            if (step < 0 || step > options.Steps)
            {
                throw fail($"step {step} is outside 0..{options.Steps}");
            }
            if (!ulong.TryParse(Get(root, "data_fingerprint", JsonValueKind.String).GetString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong fingerprint))
            {
                throw fail("header field \"data_fingerprint\" is not hexadecimal");
            }
            string model = Get(root, "model", JsonValueKind.String).GetString()!;
            JsonElement loss = Get(root, "loss", JsonValueKind.Array);
            if (loss.GetArrayLength() > options.Steps + 1)
            {
                throw fail($"the loss curve has {loss.GetArrayLength()} rows for {options.Steps} steps");
            }
            var log = new LossLog();
            foreach (JsonElement row in loss.EnumerateArray())
            {
                if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != 4 || !row[0].TryGetInt32(out int s) || s < 0 || s > step
                    || !row[3].TryGetDouble(out double lr))
                {
                    throw fail("a loss curve row is malformed");
                }
                try
                {
                    log.Add(new LossPoint(s, Optional(row[1], fail), Optional(row[2], fail), lr));
                }
                catch (InvalidDataException e)
                {
                    throw fail(e.Message);
                }
            }
            return new CheckpointHeader(step, fingerprint, model, options, log);
        }
    }

    private static double? Optional(JsonElement e, Func<string, InvalidDataException> fail) => e.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number => e.GetDouble(),
        _ => throw fail("a loss value is neither a number nor null"),
    };
}

/// <summary>The short target names of the CLI and checkpoints: q, k, v, o, gate, up, down.</summary>
public static class TargetNames
{
    private static readonly string[] s_names = ["q", "k", "v", "o", "gate", "up", "down"];

    /// <summary>"q,k,v" → [Q, K, V]; "all" → every target. Unknown or repeated names are an <see cref="ArgumentException"/>.</summary>
    public static IReadOnlyList<LoraTarget> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Trim() == "all")
        {
            return Enum.GetValues<LoraTarget>();
        }
        var result = new List<LoraTarget>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int i = Array.IndexOf(s_names, part.ToLowerInvariant());
            if (i < 0)
            {
                throw new ArgumentException($"unknown LoRA target \"{part}\" (known: {string.Join(", ", s_names)}, or all)");
            }
            if (result.Contains((LoraTarget)i))
            {
                throw new ArgumentException($"LoRA target \"{part}\" is named twice");
            }
            result.Add((LoraTarget)i);
        }
        if (result.Count == 0)
        {
            throw new ArgumentException("no LoRA target named");
        }
        result.Sort();
        return result;
    }

    public static string Format(IEnumerable<LoraTarget> targets) => string.Join(",", targets.Order().Select(t => s_names[(int)t]));

    /// <summary>The short name of one target (q … down).</summary>
    public static string Name(LoraTarget target) => s_names[(int)target];
}
