using Cria.Core.Adapters;
using Cria.Core.Models;
using Cria.Core.Tokenization;

namespace Cria.Fuzz.Tests;

/// <summary>What fuzzing found (fuzz/regressions/TARGET/), each now refused with the parser's own error naming the problem.</summary>
public sealed class RegressionTests
{
    public static TheoryData<string> SafeTensorsInputs() => Files("safetensors");

    public static TheoryData<string> TokenizerJsonInputs() => Files("tokenizer-json");

    /// <summary>
    /// A header with bytes that are not UTF-8, an escape that spells no text (<c>"\ud800"</c>) or a value of the wrong
    /// JSON type let System.Text.Json's InvalidOperationException escape SafeTensorsFile.Open (fuzz/run safetensors).
    /// </summary>
    [Theory]
    [MemberData(nameof(SafeTensorsInputs))]
    public void A_safetensors_header_fuzzing_broke_is_a_model_exception(string file)
    {
        string path = Copy(file, "adapter_model.safetensors");
        ModelException e = Assert.Throws<ModelException>(() => SafeTensorsFile.Open(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains("header", e.Message);
    }

    /// <summary>A tokenizer.json whose pre-tokenizer Split pattern is not a valid regex let RegexParseException escape (fuzz/run tokenizer-json).</summary>
    [Theory]
    [MemberData(nameof(TokenizerJsonInputs))]
    public void A_tokenizer_json_with_an_invalid_split_pattern_is_a_tokenizer_exception(string file)
    {
        string path = Copy(file, "tokenizer.json");
        TokenizerException e = Assert.Throws<TokenizerException>(() => Tokenizer.FromHuggingFaceJson(path));
        Assert.Contains("split pattern 0 is not a valid regular expression", e.Message);
    }

    private static TheoryData<string> Files(string target)
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(FuzzInputs.Root, "regressions", target)).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    private string Copy(string file, string name)
    {
        string folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"cria-fuzz-regression-{Environment.ProcessId}-{Guid.NewGuid():N}")).FullName;
        string path = Path.Combine(folder, name);
        string target = name.EndsWith(".json", StringComparison.Ordinal) ? "tokenizer-json" : "safetensors";
        File.Copy(Path.Combine(FuzzInputs.Root, "regressions", target, file), path);
        return path;
    }
}
