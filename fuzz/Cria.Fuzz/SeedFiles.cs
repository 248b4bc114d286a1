using Cria.Core.Adapters;
using Cria.Core.Gguf;
using Cria.Numerics;

namespace Cria.Fuzz;

/// <summary>
/// The synthetic seeds of the binary formats (<c>Cria.Fuzz seeds DIR</c> writes them; fuzz/corpus holds the
/// result): GGUF files of a few hundred bytes with every kind of metadata value, both tokenizer kinds and a
/// tensor table, and a PEFT-style safetensors file. Small, because AFL mutates small seeds best.
/// </summary>
public static class SeedFiles
{
    public static void Write(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "gguf"));
        Directory.CreateDirectory(Path.Combine(folder, "safetensors"));
        Llama().Save(Path.Combine(folder, "gguf", "synthetic-llama-spm.gguf"));
        Gpt2Vocab().Save(Path.Combine(folder, "gguf", "synthetic-gpt2-vocab.gguf"));
        SafeTensorsFile.Write(Path.Combine(folder, "safetensors", "peft-lora.safetensors"),
            [
                ("base_model.model.layers.0.attn.q_proj.lora_A.weight", [2, 4], [0.5f, -1, 2, 0, 1, 1, 1, 1]),
                ("base_model.model.layers.0.attn.q_proj.lora_B.weight", [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]),
            ],
            new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>A llama model of width 8: hyperparameters, a SentencePiece vocabulary of 8 pieces, two tensors, a template.</summary>
    public static GgufWriter Llama()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.name", "fuzz");
        w.Add("general.file_type", 0u);
        w.Add("general.alignment", 32u);
        w.Add("llama.context_length", 64u);
        w.Add("llama.embedding_length", 8u);
        w.Add("llama.block_count", 1u);
        w.Add("llama.feed_forward_length", 16u);
        w.Add("llama.attention.head_count", 2u);
        w.Add("llama.attention.head_count_kv", 1u);
        w.Add("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.Add("llama.rope.freq_base", GgufValue.From(10000.0));
        w.Add("general.size", GgufValue.From(-3L));
        w.Add("general.flags", GgufValue.From(new GgufArray(GgufValueType.UInt8, new byte[] { 1, 2, 3 })));
        w.Add("general.nested", GgufValue.From(new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.Bool, new[] { true, false }) })));
        w.Add("tokenizer.ggml.model", "llama");
        w.Add("tokenizer.ggml.tokens", GgufValue.From(new[] { "<unk>", "<s>", "</s>", "<0x0A>", "▁", "▁Hello", "▁world", "o" }));
        w.Add("tokenizer.ggml.scores", GgufValue.From(new[] { 0f, 0, 0, 0, -1, -2, -3, -4 }));
        w.Add("tokenizer.ggml.token_type", GgufValue.From(new[] { 2, 3, 3, 6, 1, 1, 1, 1 }));
        w.Add("tokenizer.ggml.bos_token_id", 1u);
        w.Add("tokenizer.ggml.eos_token_id", 2u);
        w.Add("tokenizer.chat_template", "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}");
        w.AddTensor("token_embd.weight", GgmlType.F32, [8, 8], new byte[8 * 8 * 4]);
        w.AddTensor("output_norm.weight", GgmlType.F32, [8], new byte[8 * 4]);
        return w;
    }

    /// <summary>A vocab-only GGUF with a byte-level BPE tokenizer (gpt2 kind, merges, pre-tokenizer name).</summary>
    public static GgufWriter Gpt2Vocab()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "qwen2");
        w.Add("tokenizer.ggml.model", "gpt2");
        w.Add("tokenizer.ggml.pre", "qwen2");
        w.Add("tokenizer.ggml.tokens", GgufValue.From(new[] { "H", "e", "l", "o", "He", "ll", "Hell", "Ġ", "<|endoftext|>" }));
        w.Add("tokenizer.ggml.token_type", GgufValue.From(new[] { 1, 1, 1, 1, 1, 1, 1, 1, 3 }));
        w.Add("tokenizer.ggml.merges", GgufValue.From(new[] { "H e", "l l", "He ll" }));
        w.Add("tokenizer.ggml.eos_token_id", 8u);
        return w;
    }
}
