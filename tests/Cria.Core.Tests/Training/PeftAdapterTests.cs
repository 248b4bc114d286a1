using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

using Cria.Core.Adapters;
using Cria.Core.Inference;
using Cria.Core.Models;

namespace Cria.Core.Tests.Training;

/// <summary>
/// PEFT folders: the safetensors layout and config PEFT reads, a round trip back to the same adapter
/// (and the same logits), q/k rows in Hugging Face's order, and malformed folders refused.
/// </summary>
public sealed class PeftAdapterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-peft-").FullName;
    private readonly LocalModel _model = LocalModel.Load(RepoRoot.Path("models/stories260K.gguf"));

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ModelConfig Config => _model.Model.Config;

    private LoraAdapter RandomAdapter(int rank, int seed, LoraTarget[]? targets = null)
    {
        var rng = new Random(seed);
        var layers = new LoraMatrix?[Config.BlockCount][];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new LoraMatrix?[7];
            foreach (LoraTarget t in targets ?? Enum.GetValues<LoraTarget>())
            {
                (int o, int i) = LoraAdapter.Shape(Config, t);
                layers[l][(int)t] = new LoraMatrix(rank, i, o,
                    [.. Enumerable.Range(0, rank * i).Select(_ => (float)(rng.NextDouble() - 0.5))],
                    [.. Enumerable.Range(0, o * rank).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.1f)]);
            }
        }
        return new LoraAdapter("rand", Config.Architecture, 16, layers);
    }

    private float[] Logits(LoraAdapter? adapter)
    {
        InferenceContext ctx = _model.Model.CreateContext(64);
        ctx.SetAdapters(adapter is null ? [] : [new ActiveAdapter(adapter)]);
        _model.Model.Forward(ctx, _model.Tokenizer.Encode("Once upon a time there was", addSpecial: true));
        return (float[])ctx.Logits.Clone();
    }

    [Fact]
    public void A_saved_folder_has_the_files_names_shapes_and_config_PEFT_reads()
    {
        string folder = Path.Combine(_dir, "peft");
        PeftAdapter.Save(RandomAdapter(4, 1, [LoraTarget.Q, LoraTarget.Down]), Config, folder, "stories260K", 0.05f);
        byte[] bytes = File.ReadAllBytes(Path.Combine(folder, "adapter_model.safetensors"));
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        using JsonDocument header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        JsonElement root = header.RootElement;
        Assert.Equal("pt", root.GetProperty("__metadata__").GetProperty("format").GetString());
        JsonElement a = root.GetProperty("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
        Assert.Equal("F32", a.GetProperty("dtype").GetString());
        Assert.Equal([4L, Config.EmbeddingLength], a.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        JsonElement b = root.GetProperty("base_model.model.model.layers.4.mlp.down_proj.lora_B.weight");
        Assert.Equal([(long)Config.EmbeddingLength, 4L], b.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(2 * 2 * Config.BlockCount + 1, root.EnumerateObject().Count());
        long end = root.EnumerateObject().Where(p => p.Name != "__metadata__").Max(p => p.Value.GetProperty("data_offsets")[1].GetInt64());
        Assert.Equal(bytes.Length, 8 + headerLength + end);

        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")));
        JsonElement c = config.RootElement;
        Assert.Equal("LORA", c.GetProperty("peft_type").GetString());
        Assert.Equal(4, c.GetProperty("r").GetInt32());
        Assert.Equal(16, c.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(0.05, c.GetProperty("lora_dropout").GetDouble(), 1e-6);
        Assert.Equal("CAUSAL_LM", c.GetProperty("task_type").GetString());
        Assert.Equal("none", c.GetProperty("bias").GetString());
        Assert.Equal("stories260K", c.GetProperty("base_model_name_or_path").GetString());
        Assert.Equal(["down_proj", "q_proj"], c.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void A_folder_reads_back_as_the_same_adapter_and_logits()
    {
        LoraAdapter original = RandomAdapter(3, 2);
        string folder = Path.Combine(_dir, "roundtrip");
        PeftAdapter.Save(original, Config, folder, "base", 0);
        LoraAdapter loaded = PeftAdapter.Load(folder, Config);
        Assert.Equal(original.Alpha, loaded.Alpha);
        for (int l = 0; l < Config.BlockCount; l++)
        {
            foreach (LoraTarget t in Enum.GetValues<LoraTarget>())
            {
                Assert.Equal(original.Get(l, t)!.A, loaded.Get(l, t)!.A);
                Assert.Equal(original.Get(l, t)!.B, loaded.Get(l, t)!.B);
            }
        }
        Assert.Equal(Logits(original), Logits(loaded));
        Assert.NotEqual(Logits(null), Logits(loaded));
    }

    [Fact]
    public void Q_and_K_updates_are_stored_in_Hugging_Face_row_order()
    {
        // convert_hf_to_gguf.py permutes HF q/k rows into GGUF's with
        // W.reshape(n_head, 2, d/2, in).swapaxes(1, 2).reshape(out, in). Applied to the update B·A
        // written to the folder, that permutation must give back Cria's (GGUF-order) update.
        LoraAdapter adapter = RandomAdapter(2, 3, [LoraTarget.Q, LoraTarget.K]);
        string folder = Path.Combine(_dir, "order");
        PeftAdapter.Save(adapter, Config, folder, "base", 0);
        SafeTensorsFile st = SafeTensorsFile.Open(Path.Combine(folder, "adapter_model.safetensors"));
        foreach ((LoraTarget target, string module, int heads) in new[] { (LoraTarget.Q, "q_proj", Config.HeadCount), (LoraTarget.K, "k_proj", Config.HeadCountKv) })
        {
            float[] hfB = st.ReadFloats(st.Tensors[$"base_model.model.model.layers.1.self_attn.{module}.lora_B.weight"]);
            LoraMatrix m = adapter.Get(1, target)!;
            int d = Config.HeadDim;
            // reshape(n_head, 2, d/2, ·) then swapaxes(1, 2): output row (h, i, j) reads input row (h, j, i).
            for (int h = 0; h < heads; h++)
            {
                for (int i = 0; i < d / 2; i++)
                {
                    for (int j = 0; j < 2; j++)
                    {
                        int outRow = (h * (d / 2) + i) * 2 + j;
                        int inRow = (h * 2 + j) * (d / 2) + i;
                        Assert.Equal(m.B.AsSpan(outRow * 2, 2).ToArray(), hfB.AsSpan(inRow * 2, 2).ToArray());
                    }
                }
            }
            Assert.NotEqual(m.B, hfB);
        }
    }

    private string Folder(string name, string config, Action<string>? weights = null)
    {
        string folder = Path.Combine(_dir, name);
        PeftAdapter.Save(RandomAdapter(2, 4, [LoraTarget.V]), Config, folder, "base", 0);
        if (config.Length > 0)
        {
            File.WriteAllText(Path.Combine(folder, "adapter_config.json"), config);
        }
        weights?.Invoke(Path.Combine(folder, "adapter_model.safetensors"));
        return folder;
    }

    private static void RawWeights(string path, string header, int dataBytes)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    [Theory]
    [InlineData("dora", "{\"peft_type\": \"LORA\", \"lora_alpha\": 8, \"use_dora\": true}", "DoRA")]
    [InlineData("ia3", "{\"peft_type\": \"IA3\"}", "only LORA")]
    [InlineData("alphas", "{\"peft_type\": \"LORA\", \"lora_alpha\": 8, \"alpha_pattern\": {\"q_proj\": 4}}", "alpha_pattern")]
    [InlineData("notjson", "{peft_type", "not valid JSON")]
    public void Unsupported_or_broken_configs_are_refused(string name, string config, string problem)
    {
        Assert.Contains(problem, Assert.Throws<ModelException>(() => PeftAdapter.Load(Folder(name, config), Config)).Message);
    }

    [Fact]
    public void Malformed_weights_are_refused_with_the_reason()
    {
        const string ok = "{\"peft_type\": \"LORA\", \"lora_alpha\": 8}";
        string Load(string name, Action<string> weights) => Assert.Throws<ModelException>(() => PeftAdapter.Load(Folder(name, ok, weights), Config)).Message;

        Assert.Contains("needs adapter_config.json", Assert.Throws<ModelException>(() => PeftAdapter.Load(_dir, Config)).Message);
        Assert.Contains("header length", Load("huge", p => File.WriteAllBytes(p, [255, 255, 255, 255, 255, 255, 255, 127, 0])));
        Assert.Contains("outside the data section", Load("offsets", p => RawWeights(p,
            "{\"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight\": {\"dtype\": \"F32\", \"shape\": [2, 64], \"data_offsets\": [0, 512]}}", 100)));
        Assert.Contains("overlap", Load("overlap", p => RawWeights(p,
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", 24)));
        Assert.Contains("needs 512 bytes", Load("size", p => RawWeights(p,
            "{\"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight\": {\"dtype\": \"F32\", \"shape\": [2, 64], \"data_offsets\": [0, 16]}}", 16)));
        Assert.Contains("not a LoRA factor", Load("name", p => RawWeights(p,
            "{\"base_model.model.lm_head.weight\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4)));
        Assert.Contains("must be [r, 64]", Load("shape", p => RawWeights(p,
            "{\"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight\": {\"dtype\": \"F32\", \"shape\": [2, 8], \"data_offsets\": [0, 64]},"
            + " \"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight\": {\"dtype\": \"F32\", \"shape\": [32, 2], \"data_offsets\": [64, 320]}}", 320)));
        Assert.Contains("no matching lora_B", Load("pair", p => RawWeights(p,
            "{\"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight\": {\"dtype\": \"F32\", \"shape\": [2, 64], \"data_offsets\": [0, 512]}}", 512)));
        Assert.Contains("not finite", Load("nan", p =>
        {
            RawWeights(p, "{\"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight\": {\"dtype\": \"F32\", \"shape\": [1, 64], \"data_offsets\": [0, 256]},"
                + " \"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight\": {\"dtype\": \"F32\", \"shape\": [32, 1], \"data_offsets\": [256, 384]}}", 384);
            byte[] b = File.ReadAllBytes(p);
            BitConverter.GetBytes(float.NaN).CopyTo(b, b.Length - 4);
            File.WriteAllBytes(p, b);
        }));
    }
}
