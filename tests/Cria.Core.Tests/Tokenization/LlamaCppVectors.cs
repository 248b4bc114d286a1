using System.Text;

namespace Cria.Core.Tests.Tokenization;

/// <summary>
/// llama.cpp's tokenizer test vectors (tests/test-tokenizer-0.cpp): <c>ggml-vocab-X.gguf.inp</c>
/// holds strings, each followed by the separator line "\n__ggml_vocab_test__\n";
/// <c>.out</c> holds one line of expected ids per string (encoded with add_special = false,
/// parse_special = false). Format: tests/data/README.md.
/// </summary>
internal static class LlamaCppVectors
{
    private const string Separator = "\n__ggml_vocab_test__\n";

    public static IReadOnlyList<(string Input, int[] Expected)> Load(string vocab)
    {
        string inp = File.ReadAllText(TestData.Path($"llama.cpp/vocab/ggml-vocab-{vocab}.gguf.inp"), new UTF8Encoding(false, true));
        string[] lines = File.ReadAllLines(TestData.Path($"llama.cpp/vocab/ggml-vocab-{vocab}.gguf.out"));
        var inputs = inp.Split(Separator).ToList();
        Assert.Equal("", inputs[^1]); // the file ends with a separator
        inputs.RemoveAt(inputs.Count - 1);
        Assert.Equal(inputs.Count, lines.Length);
        var cases = new List<(string, int[])>(inputs.Count);
        for (int i = 0; i < inputs.Count; i++)
        {
            string line = lines[i].Trim();
            int[] ids = line.Length == 0 ? [] : Array.ConvertAll(line.Split(' '), int.Parse);
            cases.Add((inputs[i], ids));
        }
        return cases;
    }
}
