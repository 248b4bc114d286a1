using Cria.Core.Adapters;
using Cria.Core.Gguf;
using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Numerics;

namespace Cria.Core.Tests.Models;

/// <summary>
/// LoRA adapters in llama.cpp's GGUF format: written and read back, B = 0 changes nothing, a merged
/// model gives the logits of base + adapter, sequences with different adapters share a batch, and
/// adapters that do not fit are refused with the reason.
/// </summary>
public sealed class LoraTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    private LlamaModel Model => fixture.Model.Model;

    private LoraAdapter RandomAdapter(int rank, bool zeroB, int seed, float alpha = 16, LoraTarget[]? targets = null)
    {
        var rng = new Random(seed);
        ModelConfig c = Model.Config;
        var layers = new LoraMatrix?[c.BlockCount][];
        for (int l = 0; l < c.BlockCount; l++)
        {
            layers[l] = new LoraMatrix?[7];
            foreach (LoraTarget t in targets ?? Enum.GetValues<LoraTarget>())
            {
                (int o, int i) = LoraAdapter.Shape(c, t);
                float[] a = [.. Enumerable.Range(0, rank * i).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.2f)];
                float[] b = [.. Enumerable.Range(0, o * rank).Select(_ => zeroB ? 0f : (float)(rng.NextDouble() - 0.5) * 0.2f)];
                layers[l][(int)t] = new LoraMatrix(rank, i, o, a, b);
            }
        }
        return new LoraAdapter("test", c.Architecture, alpha, layers);
    }

    private float[] Logits(IReadOnlyList<ActiveAdapter> adapters, LlamaModel? model = null)
    {
        model ??= Model;
        InferenceContext ctx = model.CreateContext(64);
        ctx.SetAdapters(adapters);
        model.Forward(ctx, fixture.Model.Tokenizer.Encode("Once upon a time there was", addSpecial: true));
        return (float[])ctx.Logits.Clone();
    }

    private string SaveAndLoad(LoraAdapter adapter, out LoraAdapter loaded)
    {
        string path = Path.Combine(fixture.Dir, $"adapter-{Guid.NewGuid():N}.gguf");
        adapter.Save(path);
        loaded = LoraAdapter.Load(path, Model.Config);
        return path;
    }

    [Fact]
    public void An_adapter_with_B_zero_changes_no_logit_and_one_with_B_does()
    {
        float[] base0 = Logits([]);
        SaveAndLoad(RandomAdapter(4, zeroB: true, seed: 1), out LoraAdapter zero);
        Assert.Equal(base0, Logits([new ActiveAdapter(zero)]));
        SaveAndLoad(RandomAdapter(4, zeroB: false, seed: 2), out LoraAdapter real);
        float[] changed = Logits([new ActiveAdapter(real)]);
        Assert.True(changed.Zip(base0).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        // Scale 0 switches it off.
        Assert.Equal(base0, Logits([new ActiveAdapter(real, 0f)]));
    }

    [Fact]
    public void Written_adapters_use_llama_cpp_names_shapes_and_metadata()
    {
        string path = SaveAndLoad(RandomAdapter(3, zeroB: false, seed: 3, targets: [LoraTarget.Q, LoraTarget.Down]), out LoraAdapter loaded);
        using GgufFile file = GgufFile.Open(path);
        Assert.Equal("adapter", file.GetString("general.type"));
        Assert.Equal("lora", file.GetString("adapter.type"));
        Assert.Equal(16.0, file.GetFloat("adapter.lora.alpha"));
        Assert.True(file.TryGetTensor("blk.0.attn_q.weight.lora_a", out GgufTensorInfo a));
        Assert.Equal([Model.Config.EmbeddingLength, 3L], a.Dimensions);
        Assert.True(file.TryGetTensor("blk.4.ffn_down.weight.lora_b", out GgufTensorInfo b));
        Assert.Equal([3L, Model.Config.EmbeddingLength], b.Dimensions);
        Assert.Equal(3, loaded.Get(0, LoraTarget.Q)!.Rank);
        Assert.Null(loaded.Get(0, LoraTarget.K));
    }

    [Fact]
    public void A_merged_model_gives_the_logits_of_base_plus_adapter()
    {
        string adapterPath = SaveAndLoad(RandomAdapter(4, zeroB: false, seed: 4), out LoraAdapter adapter);
        string merged = Path.Combine(fixture.Dir, $"merged-{Guid.NewGuid():N}.gguf");
        LoraMerger.Result result = LoraMerger.Merge(fixture.GgufPath, [(adapterPath, 0.5f)], merged);
        Assert.Equal(Model.Config.BlockCount * 7, result.Merged);
        using LocalModel mergedModel = LocalModel.Load(merged);
        float[] expected = Logits([new ActiveAdapter(adapter, 0.5f)]);
        float[] got = Logits([], mergedModel.Model);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], got[i], 3e-4f * Math.Max(1f, Math.Abs(expected[i])));
        }
    }

    [Fact]
    public void Sequences_with_different_adapters_share_a_batch()
    {
        SaveAndLoad(RandomAdapter(2, zeroB: false, seed: 5), out LoraAdapter one);
        SaveAndLoad(RandomAdapter(6, zeroB: false, seed: 6, alpha: 0), out LoraAdapter two);
        IReadOnlyList<ActiveAdapter>[] sets = [[], [new ActiveAdapter(one)], [new ActiveAdapter(one), new ActiveAdapter(two, 2f)]];
        int[] prompt = fixture.Model.Tokenizer.Encode("Lily had a ball", addSpecial: true);
        var contexts = sets.Select(s =>
        {
            InferenceContext c = Model.CreateContext(64);
            c.SetAdapters(s);
            return c;
        }).ToArray();
        var tokens = new List<int>();
        var chunks = new List<SequenceChunk>();
        foreach (InferenceContext c in contexts)
        {
            chunks.Add(new SequenceChunk(c, tokens.Count, prompt.Length));
            tokens.AddRange(prompt);
        }
        Model.ForwardBatch(new BatchWorkspace(Model, 64, 4), tokens.ToArray(), chunks.ToArray());
        for (int i = 0; i < sets.Length; i++)
        {
            InferenceContext alone = Model.CreateContext(64);
            alone.SetAdapters(sets[i]);
            Model.Forward(alone, prompt);
            Assert.Equal(alone.Logits, contexts[i].Logits);
        }
        Assert.NotEqual(contexts[0].Logits, contexts[1].Logits);
    }

    [Fact]
    public void Adapters_that_do_not_fit_are_refused_with_the_reason()
    {
        ModelConfig c = Model.Config;
        string Write(Action<GgufWriter> build)
        {
            var w = new GgufWriter();
            build(w);
            string path = Path.Combine(fixture.Dir, $"bad-{Guid.NewGuid():N}.gguf");
            w.Save(path);
            return path;
        }
        void Header(GgufWriter w, string arch = "llama", string type = "adapter")
        {
            w.Add("general.architecture", arch);
            w.Add("general.type", type);
            w.Add("adapter.type", "lora");
            w.Add("adapter.lora.alpha", 8f);
        }
        byte[] F32(int count) => new byte[count * 4];
        int dim = c.EmbeddingLength;

        string notAdapter = Write(w => Header(w, type: "model"));
        Assert.Contains("not a LoRA adapter", Assert.Throws<ModelException>(() => LoraAdapter.Load(notAdapter, c)).Message, StringComparison.Ordinal);
        string otherArch = Write(w => Header(w, arch: "qwen2"));
        Assert.Contains("architecture \"qwen2\"", Assert.Throws<ModelException>(() => LoraAdapter.Load(otherArch, c)).Message, StringComparison.Ordinal);
        string lonely = Write(w =>
        {
            Header(w);
            w.AddTensor("blk.0.attn_q.weight.lora_a", GgmlType.F32, [dim, 2], F32(dim * 2));
        });
        Assert.Contains("needs both", Assert.Throws<ModelException>(() => LoraAdapter.Load(lonely, c)).Message, StringComparison.Ordinal);
        string misshapen = Write(w =>
        {
            Header(w);
            w.AddTensor("blk.0.attn_q.weight.lora_a", GgmlType.F32, [dim + 1, 2], F32((dim + 1) * 2));
            w.AddTensor("blk.0.attn_q.weight.lora_b", GgmlType.F32, [2, dim], F32(dim * 2));
        });
        Assert.Contains("must be", Assert.Throws<ModelException>(() => LoraAdapter.Load(misshapen, c)).Message, StringComparison.Ordinal);
        string outOfRange = Write(w =>
        {
            Header(w);
            w.AddTensor("blk.99.attn_q.weight.lora_a", GgmlType.F32, [dim, 2], F32(dim * 2));
            w.AddTensor("blk.99.attn_q.weight.lora_b", GgmlType.F32, [2, dim], F32(dim * 2));
        });
        Assert.Contains("applies LoRA to", Assert.Throws<ModelException>(() => LoraAdapter.Load(outOfRange, c)).Message, StringComparison.Ordinal);
        string empty = Write(w => Header(w));
        Assert.Contains("no LoRA tensors", Assert.Throws<ModelException>(() => LoraAdapter.Load(empty, c)).Message, StringComparison.Ordinal);
    }
}
