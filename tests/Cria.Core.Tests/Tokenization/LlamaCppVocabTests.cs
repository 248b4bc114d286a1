using Cria.Core.Tokenization;

namespace Cria.Core.Tests.Tokenization;

/// <summary>
/// Every llama.cpp tokenizer vector whose vocabulary is in tests/data, one row per string:
/// encoding (no BOS, special tokens not parsed) must give exactly the expected ids, and decoding
/// them must give back the input. llama-bpe's GGUF is over the size the data collection could
/// fetch; its vectors run against the same Llama 3 tokenizer in Hugging Face form. Qwen2's
/// vectors exist upstream but its vocabulary could not be fetched, so they cannot run here.
/// </summary>
public sealed class LlamaCppVocabTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (string vocab in (string[])["llama-spm", "phi-3", "deepseek-llm", "deepseek-coder", "gpt-2", "llama-bpe"])
        {
            int n = LlamaCppVectors.Load(vocab).Count;
            for (int i = 0; i < n; i++)
            {
                data.Add(vocab, i);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encodes_like_llama_cpp(string vocab, int index)
    {
        (string input, int[] expected) = LlamaCppVectors.Load(vocab)[index];
        Tokenizer tok = TestTokenizers.Vocab(vocab);
        int[] actual = tok.Encode(input, addSpecial: false, parseSpecial: false);
        Assert.True(expected.AsSpan().SequenceEqual(actual),
            $"{vocab} #{index} input {TestTokenizers.Escape(input)}\nexpected {TestTokenizers.Show(expected)}\nactual   {TestTokenizers.Show(actual)}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decodes_the_expected_ids_back_to_the_input(string vocab, int index)
    {
        (string input, int[] expected) = LlamaCppVectors.Load(vocab)[index];
        string decoded = TestTokenizers.Vocab(vocab).Decode(expected);
        Assert.True(input == decoded, $"{vocab} #{index}\nexpected {TestTokenizers.Escape(input)}\ndecoded  {TestTokenizers.Escape(decoded)}");
    }
}
