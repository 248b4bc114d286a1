using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

using Cria.Core.IO;
using Cria.Core.Models;

namespace Cria.Core.Adapters;

/// <summary>
/// LoRA adapters in Hugging Face PEFT's folder format: <c>adapter_model.safetensors</c> (tensors
/// <c>base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight</c> [r, in] and
/// <c>….lora_B.weight</c> [out, r], for q/k/v/o_proj under self_attn and gate/up/down_proj under mlp)
/// and <c>adapter_config.json</c> (peft_type LORA, r, lora_alpha, target_modules, …).
/// GGUF "llama" models store q and k with the rows of each head permuted for RoPE's adjacent pairs
/// (llama.cpp's convert_hf_to_gguf.py: GGUF row h·d + 2i + j is HF row h·d + j·d/2 + i); ΔW = B·A
/// permutes with W's rows, so B of q and k is permuted between the two layouts and A is not (as
/// convert_lora_to_gguf.py does through its LoraTorchTensor). Other architectures (qwen2: NeoX RoPE)
/// are not permuted.
/// </summary>
public static partial class PeftAdapter
{
    public const string WeightsFile = "adapter_model.safetensors";
    public const string ConfigFile = "adapter_config.json";

    private static readonly (LoraTarget Target, string Module)[] s_modules =
    [
        (LoraTarget.Q, "self_attn.q_proj"), (LoraTarget.K, "self_attn.k_proj"), (LoraTarget.V, "self_attn.v_proj"), (LoraTarget.O, "self_attn.o_proj"),
        (LoraTarget.Gate, "mlp.gate_proj"), (LoraTarget.Up, "mlp.up_proj"), (LoraTarget.Down, "mlp.down_proj"),
    ];

    [GeneratedRegex(@"^base_model\.model\.(?:model\.)?layers\.(\d{1,6})\.(self_attn|mlp)\.([a-z_]+)\.lora_([AB])\.weight$", RegexOptions.CultureInvariant)]
    private static partial Regex TensorNamePattern();

    /// <summary>The PEFT tensor name of a factor, e.g. <c>base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight</c>.</summary>
    public static string TensorName(int layer, LoraTarget target, bool isA) =>
        string.Create(CultureInfo.InvariantCulture, $"base_model.model.model.layers.{layer}.{s_modules[(int)target].Module}.lora_{(isA ? 'A' : 'B')}.weight");

    /// <summary>Writes <paramref name="adapter"/> as a PEFT folder (created if needed; files written atomically).</summary>
    /// <param name="baseModel">What goes into <c>base_model_name_or_path</c> (the base model's name or path).</param>
    public static void Save(LoraAdapter adapter, ModelConfig config, string folder, string baseModel, float dropout)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        var tensors = new List<(string, long[], float[])>();
        var modules = new SortedSet<string>(StringComparer.Ordinal);
        int? rank = null;
        for (int l = 0; l < adapter.LayerCount; l++)
        {
            foreach ((LoraTarget target, string module) in s_modules)
            {
                if (adapter.Get(l, target) is not { } m)
                {
                    continue;
                }
                rank ??= m.Rank;
                if (m.Rank != rank)
                {
                    throw new ArgumentException("a PEFT folder written by Cria has one rank for every matrix");
                }
                modules.Add(module[(module.IndexOf('.') + 1)..]);
                float[] b = NeedsPermutation(config, target) ? PermuteRows(m.B, m.Rank, config, target, toHf: true) : m.B;
                tensors.Add((TensorName(l, target, isA: true), [m.Rank, m.In], m.A));
                tensors.Add((TensorName(l, target, isA: false), [m.Out, m.Rank], b));
            }
        }
        if (rank is null)
        {
            throw new ArgumentException("the adapter has no LoRA matrices");
        }
        SafeTensorsFile.Write(Path.Combine(folder, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        WriteConfig(Path.Combine(folder, ConfigFile), rank.Value, adapter.Alpha, dropout, modules, baseModel);
    }

    private static void WriteConfig(string path, int rank, float alpha, float dropout, IEnumerable<string> modules, string baseModel)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("alpha_pattern");
            w.WriteEndObject();
            w.WriteNull("auto_mapping");
            w.WriteString("base_model_name_or_path", baseModel);
            w.WriteString("bias", "none");
            w.WriteBoolean("fan_in_fan_out", false);
            w.WriteBoolean("inference_mode", true);
            w.WriteBoolean("init_lora_weights", true);
            w.WriteNull("layers_pattern");
            w.WriteNull("layers_to_transform");
            w.WriteNumber("lora_alpha", alpha);
            w.WriteNumber("lora_dropout", dropout);
            w.WriteNull("modules_to_save");
            w.WriteString("peft_type", "LORA");
            w.WriteNumber("r", rank);
            w.WriteStartObject("rank_pattern");
            w.WriteEndObject();
            w.WriteNull("revision");
            w.WriteStartArray("target_modules");
            foreach (string m in modules)
            {
                w.WriteStringValue(m);
            }
            w.WriteEndArray();
            w.WriteString("task_type", "CAUSAL_LM");
            w.WriteBoolean("use_dora", false);
            w.WriteBoolean("use_rslora", false);
            w.WriteEndObject();
        }
        AtomicFile.WriteAllBytes(path, ms.ToArray());
    }

    /// <summary>Reads a PEFT folder as an adapter for a model of <paramref name="config"/>.</summary>
    /// <exception cref="ModelException">A missing file, a setting Cria cannot apply (DoRA, per-module alphas, biases…), an unknown tensor or a shape that does not fit; the message says which.</exception>
    public static LoraAdapter Load(string folder, ModelConfig config, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(config);
        string configPath = Path.Combine(folder, ConfigFile);
        string weightsPath = Path.Combine(folder, WeightsFile);
        if (!File.Exists(configPath) || !File.Exists(weightsPath))
        {
            throw new ModelException($"{folder}: a PEFT adapter folder needs {ConfigFile} and {WeightsFile}");
        }
        (float alpha, bool rsLora) = ReadConfig(configPath);
        SafeTensorsFile st = SafeTensorsFile.Open(weightsPath);
        ModelException Fail(string problem) => new($"{weightsPath}: {problem}");
        var layers = new LoraMatrix?[config.BlockCount][];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new LoraMatrix?[7];
        }
        var seen = new HashSet<(int, LoraTarget)>();
        foreach (SafeTensorInfo t in st.Tensors.Values)
        {
            (int layer, LoraTarget target, bool isA) = Parse(t.Name, config.BlockCount) ?? throw Fail(
                $"tensor {Short(t.Name)} is not a LoRA factor Cria applies (base_model.model.model.layers.N.{{self_attn.q/k/v/o_proj,mlp.gate/up/down_proj}}.lora_A/lora_B.weight)");
            if (!isA || !seen.Add((layer, target)))
            {
                continue; // handled with its A
            }
            string bName = TensorName(layer, target, isA: false);
            SafeTensorInfo a = t;
            if (!st.Tensors.TryGetValue(bName, out SafeTensorInfo? b) && !st.Tensors.TryGetValue(bName.Replace("base_model.model.model.", "base_model.model.", StringComparison.Ordinal), out b))
            {
                throw Fail($"{Short(t.Name)} has no matching lora_B");
            }
            (int outDim, int inDim) = LoraAdapter.Shape(config, target);
            if (a.Shape.Length != 2 || b.Shape.Length != 2 || a.Shape[1] != inDim || b.Shape[0] != outDim || a.Shape[0] != b.Shape[1]
                || a.Shape[0] < 1 || a.Shape[0] > LoraAdapter.MaxRank)
            {
                throw Fail($"layer {layer} {s_modules[(int)target].Module}: lora_A is [{string.Join(", ", a.Shape)}] and lora_B [{string.Join(", ", b.Shape)}]; "
                    + $"for this model they must be [r, {inDim}] and [{outDim}, r] with 1 ≤ r ≤ {LoraAdapter.MaxRank}");
            }
            int rank = (int)a.Shape[0];
            float[] bValues = st.ReadFloats(b);
            if (rsLora)
            {
                // rsLoRA scales by alpha/√r; Cria's adapters by alpha/r: fold √r into B.
                float f = MathF.Sqrt(rank);
                for (int i = 0; i < bValues.Length; i++)
                {
                    bValues[i] *= f;
                }
            }
            if (NeedsPermutation(config, target))
            {
                bValues = PermuteRows(bValues, rank, config, target, toHf: false);
            }
            layers[layer][(int)target] = new LoraMatrix(rank, inDim, outDim, st.ReadFloats(a), bValues);
        }
        foreach (SafeTensorInfo t in st.Tensors.Values)
        {
            if (Parse(t.Name, config.BlockCount) is (int l, LoraTarget tg, false) && !seen.Contains((l, tg)))
            {
                throw Fail($"{Short(t.Name)} has no matching lora_A");
            }
        }
        if (seen.Count == 0)
        {
            throw Fail("the adapter has no LoRA tensors");
        }
        return new LoraAdapter(name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))), config.Architecture, alpha, layers);
    }

    private static (int Layer, LoraTarget Target, bool IsA)? Parse(string name, int layers)
    {
        Match m = TensorNamePattern().Match(name);
        if (!m.Success || !int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int layer) || layer >= layers)
        {
            return null;
        }
        string module = m.Groups[2].Value + "." + m.Groups[3].Value;
        foreach ((LoraTarget target, string mod) in s_modules)
        {
            if (mod == module)
            {
                return (layer, target, m.Groups[4].Value == "A");
            }
        }
        return null;
    }

    private static (float Alpha, bool RsLora) ReadConfig(string path)
    {
        ModelException Fail(string problem) => new($"{path}: {problem}");
        if (new FileInfo(path).Length > 1 << 20)
        {
            throw Fail("the config is larger than 1 MiB");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 16, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw Fail($"not valid JSON ({e.Message})");
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Fail("the config is not a JSON object");
            }
            string peftType = root.TryGetProperty("peft_type", out JsonElement pt) && pt.ValueKind == JsonValueKind.String ? pt.GetString()! : "";
            if (peftType != "LORA")
            {
                throw Fail($"peft_type is \"{peftType}\"; only LORA adapters are supported");
            }
            if (!root.TryGetProperty("lora_alpha", out JsonElement a) || !a.TryGetDouble(out double alpha) || !double.IsFinite(alpha) || alpha < 0)
            {
                throw Fail("lora_alpha must be a number ≥ 0");
            }
            bool Flag(string key) => root.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.True;
            bool NonEmpty(string key) => root.TryGetProperty(key, out JsonElement v) && v.ValueKind == JsonValueKind.Object && v.EnumerateObject().Any();
            if (Flag("use_dora"))
            {
                throw Fail("DoRA adapters (use_dora) are not supported");
            }
            if (Flag("fan_in_fan_out"))
            {
                throw Fail("fan_in_fan_out adapters (Conv1D layers) are not supported");
            }
            if (NonEmpty("alpha_pattern"))
            {
                throw Fail("per-module alphas (alpha_pattern) are not supported");
            }
            if (root.TryGetProperty("bias", out JsonElement bias) && bias.ValueKind == JsonValueKind.String && bias.GetString() != "none")
            {
                throw Fail($"bias \"{bias.GetString()}\" is not supported (only \"none\")");
            }
            return ((float)alpha, Flag("use_rslora"));
        }
    }

    private static bool NeedsPermutation(ModelConfig config, LoraTarget target) =>
        config.Architecture == "llama" && target is LoraTarget.Q or LoraTarget.K;

    /// <summary>
    /// Permutes the rows of B [out, rank] between GGUF's and HF's q/k layouts: GGUF row h·d + 2i + j
    /// is HF row h·d + j·d/2 + i (heads h, pairs i, j ∈ {0, 1}).
    /// </summary>
    internal static float[] PermuteRows(float[] b, int rank, ModelConfig config, LoraTarget target, bool toHf)
    {
        int heads = target == LoraTarget.Q ? config.HeadCount : config.HeadCountKv;
        int d = config.HeadDim;
        var result = new float[b.Length];
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < d / 2; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    int gguf = h * d + 2 * i + j;
                    int hf = h * d + j * (d / 2) + i;
                    (int from, int to) = toHf ? (gguf, hf) : (hf, gguf);
                    Array.Copy(b, from * rank, result, to * rank, rank);
                }
            }
        }
        return result;
    }

    private static string Short(string s) => s.Length <= 120 ? s : s[..120] + "…";
}
