using System.Collections.Concurrent;

using Cria.Core.Gguf;
using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

/// <summary>The tokenizers under test, each loaded once per test run from tests/data.</summary>
internal static class TestTokenizers
{
    public const string Llama3Json = "tokenizers/llama3-hf/tokenizer.json";
    public const string MistralJson = "tokenizers/mistral-7b-hf/tokenizer.json";

    private static readonly ConcurrentDictionary<string, Lazy<Tokenizer>> s_cache = new();

    /// <summary>A llama.cpp vocab by its short name ("llama-spm", "gpt-2", ...), or "llama-bpe" (the Llama 3 tokenizer.json).</summary>
    public static Tokenizer Vocab(string name) => name == "llama-bpe"
        ? Get(Llama3Json, () => Tokenizer.FromHuggingFaceJson(TestData.Path(Llama3Json)))
        : Get(name, () =>
        {
            using GgufFile file = GgufFile.Open(TestData.Path($"llama.cpp/vocab/ggml-vocab-{name}.gguf"));
            return Tokenizer.FromGguf(file);
        });

    public static Tokenizer Llama3 => Vocab("llama-bpe");

    public static Tokenizer Mistral => Get(MistralJson, () => Tokenizer.FromHuggingFaceJson(TestData.Path(MistralJson)));

    /// <summary>
    /// The Llama 3 tokenizer.json with Llama 3.1's special-token names, which llama3-js-cases.json
    /// was made with: 128004, 128008 and 128010 are renamed, and the remaining
    /// &lt;|reserved_special_token_N|&gt; are numbered 0..247 in id order.
    /// </summary>
    public static Tokenizer Llama31 => Get("llama31", () =>
    {
        TokenizerVocab v = HuggingFaceTokenizerReader.Read(TestData.Path(Llama3Json));
        string[] tokens = [.. v.Tokens];
        tokens[128004] = "<|finetune_right_pad_id|>";
        tokens[128008] = "<|eom_id|>";
        tokens[128010] = "<|python_tag|>";
        int reserved = 0;
        for (int id = 128002; id < 128256; id++)
        {
            if (tokens[id].StartsWith("<|reserved_special_token_", StringComparison.Ordinal))
            {
                tokens[id] = $"<|reserved_special_token_{reserved++}|>";
            }
        }
        Assert.Equal(248, reserved);
        return Tokenizer.FromVocab(v with { Tokens = tokens });
    });

    private static Tokenizer Get(string key, Func<Tokenizer> load) => s_cache.GetOrAdd(key, _ => new Lazy<Tokenizer>(load)).Value;

    /// <summary>Ids as "[1, 2, 3]", for failure messages.</summary>
    public static string Show(IEnumerable<int> ids) => "[" + string.Join(", ", ids) + "]";

    /// <summary>A string with control characters and non-ASCII escaped, for failure messages.</summary>
    public static string Escape(string s)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (char c in s)
        {
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '"' => "\\\"",
                < ' ' or > '~' => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }
}
