using System.Text.Json;
using System.Text.RegularExpressions;

namespace Cria.Cli.Tests;

/// <summary>The `cria` commands as a user runs them: real process, real files, exit codes and messages.</summary>
public sealed partial class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string BundledModel => Path.Combine(AppContext.BaseDirectory, "models", "stories260K.gguf");

    private static void AssertOneLineError(CliRunner.Result r, string expected)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.StartsWith("cria: error: ", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void Run_with_the_bundled_model_continues_the_prompt_greedily()
    {
        CliRunner.Result r = CliRunner.Run("run", "Once upon a time", "--temperature", "0", "--max-tokens", "40");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(", there was a little girl named Lily.", r.Stdout);
        Assert.DoesNotContain("Once upon a time", r.Stdout);
    }

    /// <summary>A LoRA adapter for the bundled model whose B factors are zero (it changes nothing) or small random values.</summary>
    private string WriteAdapter(string name, bool zeroB)
    {
        using var model = Cria.Core.Inference.LocalModel.Load(BundledModel);
        Cria.Core.Models.ModelConfig c = model.Model.Config;
        var rng = new Random(3);
        var layers = new Cria.Core.Models.LoraMatrix?[c.BlockCount][];
        for (int l = 0; l < c.BlockCount; l++)
        {
            layers[l] = new Cria.Core.Models.LoraMatrix?[7];
            foreach (Cria.Core.Models.LoraTarget t in Enum.GetValues<Cria.Core.Models.LoraTarget>())
            {
                (int o, int i) = Cria.Core.Models.LoraAdapter.Shape(c, t);
                layers[l][(int)t] = new Cria.Core.Models.LoraMatrix(2, i, o,
                    [.. Enumerable.Range(0, 2 * i).Select(_ => (float)rng.NextDouble() - 0.5f)],
                    [.. Enumerable.Range(0, o * 2).Select(_ => zeroB ? 0f : (float)rng.NextDouble() - 0.5f)]);
            }
        }
        string path = Path.Combine(_dir, name);
        new Cria.Core.Models.LoraAdapter(name, c.Architecture, 4f, layers).Save(path);
        return path;
    }

    [Fact]
    public void Run_applies_adapters_and_merge_bakes_them_in()
    {
        string zero = WriteAdapter("zero.gguf", zeroB: true);
        string real = WriteAdapter("real.gguf", zeroB: false);
        string[] greedy = ["--temperature", "0", "-n", "24", "Once upon a time"];
        CliRunner.Result plain = CliRunner.Run(["run", .. greedy]);
        CliRunner.Result noChange = CliRunner.Run(["run", "--adapter", zero + ":0.5", .. greedy]);
        Assert.Equal(0, noChange.ExitCode);
        Assert.Equal(plain.Stdout, noChange.Stdout);
        CliRunner.Result changed = CliRunner.Run(["run", "--adapter", real, .. greedy]);
        Assert.Equal(0, changed.ExitCode);
        Assert.NotEqual(plain.Stdout, changed.Stdout);

        string merged = Path.Combine(_dir, "merged.gguf");
        CliRunner.Result merge = CliRunner.Run("merge", BundledModel, real, "-o", merged);
        Assert.Equal(0, merge.ExitCode);
        Assert.Contains("matrices merged", merge.Stderr);
        // (Logits of merged vs applied agree to float rounding — Core's LoraTests; greedy text may part at a near-tie.)
        CliRunner.Result fromMerged = CliRunner.Run(["run", "--model", merged, .. greedy]);
        Assert.Equal(0, fromMerged.ExitCode);
        Assert.NotEqual(plain.Stdout, fromMerged.Stdout);

        string notAdapter = Path.Combine(_dir, "not.gguf");
        File.Copy(BundledModel, notAdapter);
        AssertOneLineError(CliRunner.Run("run", "--adapter", notAdapter, "hi"), "not a LoRA adapter");
        AssertOneLineError(CliRunner.Run("run", "--adapter", Path.Combine(_dir, "missing.gguf"), "hi"), "adapter file not found");
    }

    [Fact]
    public void Run_is_reproducible_with_a_seed()
    {
        string[] args = ["run", "Tom had a", "--seed", "42", "--max-tokens", "30", "--model", BundledModel];
        CliRunner.Result a = CliRunner.Run(args);
        CliRunner.Result b = CliRunner.Run(args);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Stdout, b.Stdout);
        Assert.NotEmpty(a.Stdout.Trim());
    }

    [Fact]
    public void Run_reads_the_prompt_from_redirected_stdin()
    {
        CliRunner.Result r = CliRunner.RunWithInput("Once upon a time", "run", "--temperature", "0", "-n", "10");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(", there was a little girl", r.Stdout);
    }

    [Fact]
    public void Stop_string_ends_generation_before_it()
    {
        CliRunner.Result r = CliRunner.Run("run", "Once upon a time", "--temperature", "0", "-n", "100", "--stop", "Lily");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(", there was a little girl named", r.Stdout.TrimEnd('\n').TrimEnd());
    }

    [Fact]
    public void Missing_model_is_one_clear_line() =>
        AssertOneLineError(CliRunner.Run("run", "hi", "--model", Path.Combine(_dir, "nope.gguf")), "model file not found");

    [Fact]
    public void A_file_that_is_not_gguf_is_named()
    {
        string path = Path.Combine(_dir, "notes.gguf");
        File.WriteAllText(path, "just some text, not a model");
        AssertOneLineError(CliRunner.Run("run", "hi", "--model", path), "not a GGUF file");
    }

    [Fact]
    public void Truncated_model_is_rejected_cleanly()
    {
        string path = Path.Combine(_dir, "cut.gguf");
        byte[] full = File.ReadAllBytes(BundledModel);
        File.WriteAllBytes(path, full.AsSpan(0, full.Length / 2).ToArray());
        AssertOneLineError(CliRunner.Run("info", path), "past the end of the file");
    }

    [Fact]
    public void Prompt_longer_than_the_context_is_refused()
    {
        string prompt = string.Join(' ', Enumerable.Repeat("the little girl played", 20));
        AssertOneLineError(CliRunner.Run("run", prompt, "--ctx", "16"), "context holds 16");
    }

    [Fact]
    public void Bad_sampling_option_is_refused() =>
        AssertOneLineError(CliRunner.Run("run", "hi", "--top-p", "1.5"), "top-p");

    [Fact]
    public void Info_shows_architecture_and_tensors()
    {
        CliRunner.Result r = CliRunner.Run("info", BundledModel);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("5 layers", r.Stdout);
        Assert.Contains("blk.0.attn_q.weight", r.Stdout);
        Assert.Contains("tokenizer.ggml.model", r.Stdout);
    }

    [Fact]
    public void Tokenize_prints_a_json_array()
    {
        CliRunner.Result r = CliRunner.Run("tokenize", "--model", BundledModel, "Once upon a time");
        Assert.Equal(0, r.ExitCode);
        int[] ids = JsonSerializer.Deserialize<int[]>(r.Stdout)!;
        Assert.Equal(1, ids[0]);
        Assert.True(ids.Length > 2);
        CliRunner.Result noBos = CliRunner.Run("tokenize", "--model", BundledModel, "--no-bos", "Once upon a time");
        Assert.Equal(ids[1..], JsonSerializer.Deserialize<int[]>(noBos.Stdout));
    }

    [Fact]
    public void Perplexity_ends_with_the_llama_cpp_line()
    {
        CliRunner.Result r = CliRunner.Run("perplexity", "--file", CliRunner.RepoPath("tests/data/corpus/devils-dictionary.dictfmt.txt"), "--ctx", "64", "--chunks", "3");
        Assert.Equal(0, r.ExitCode);
        string last = r.Stdout.Trim().Split('\n')[^1];
        Assert.Matches(PplLine(), last);
    }

    [Fact]
    public void Import_writes_a_model_that_runs()
    {
        string outPath = Path.Combine(_dir, "s.gguf");
        CliRunner.Result r = CliRunner.Run("import", "llama2c", CliRunner.RepoPath("tests/data/models/stories260K/stories260K.bin"),
            "--tokenizer", CliRunner.RepoPath("tests/data/models/stories260K/tok512.bin"), "-o", outPath, "--type", "q8_0");
        Assert.Equal(0, r.ExitCode);
        CliRunner.Result run = CliRunner.Run("run", "Once upon a time", "--model", outPath, "-n", "8", "--temperature", "0");
        Assert.Equal(0, run.ExitCode);
        Assert.NotEmpty(run.Stdout.Trim());
    }

    [Fact]
    public void Import_with_a_wrong_tokenizer_is_one_clear_line()
    {
        string bad = Path.Combine(_dir, "tok.bin");
        File.WriteAllBytes(bad, [1, 0, 0, 0, 0, 0]);
        AssertOneLineError(CliRunner.Run("import", "llama2c", CliRunner.RepoPath("tests/data/models/stories260K/stories260K.bin"),
            "--tokenizer", bad, "-o", Path.Combine(_dir, "x.gguf")), "tok.bin");
        Assert.False(File.Exists(Path.Combine(_dir, "x.gguf")));
    }

    [Fact]
    public void Quantize_writes_a_smaller_model_that_still_tells_the_story()
    {
        string outPath = Path.Combine(_dir, "q8.gguf");
        CliRunner.Result q = CliRunner.Run("quantize", BundledModel, outPath, "--type", "q8_0");
        Assert.Equal(0, q.ExitCode);
        Assert.True(new FileInfo(outPath).Length < new FileInfo(BundledModel).Length / 2);
        CliRunner.Result run = CliRunner.Run("run", "Once upon a time", "--model", outPath, "-n", "12", "--temperature", "0");
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith(", there was a little girl", run.Stdout);
    }

    [Fact]
    public void A_q8_0_kv_cache_is_refused_for_a_model_whose_heads_are_not_whole_blocks()
    {
        AssertOneLineError(CliRunner.Run("run", "hi", "--model", BundledModel, "--kv-type", "q8_0", "-n", "2"), "head size is 8");
        AssertOneLineError(CliRunner.Run("bench", "--model", BundledModel, "--kv-type", "q4_0", "-p", "4", "-n", "2"), "--kv-type must be f16, f32 or q8_0");
    }

    [Fact]
    public void Quantize_to_an_unknown_type_is_refused() =>
        AssertOneLineError(CliRunner.Run("quantize", BundledModel, Path.Combine(_dir, "x.gguf"), "--type", "q3_z"), "unknown type");

    /// <summary>
    /// Every kernel path the JIT can pick, checked against the reference: with all instruction
    /// sets, then with AVX-512, AVX-VNNI and AVX2 switched off in turn (the portable and scalar
    /// fallbacks), and the same greedy story from a Q8_0 model on each. (.NET 10 switches AVX-512
    /// off with DOTNET_EnableAVX512; DOTNET_EnableAVX512F no longer does.)
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("DOTNET_EnableAVX512")] // .NET 10's switch for all of AVX-512 (DOTNET_EnableAVX512F=0 no longer turns it off)
    [InlineData("DOTNET_EnableAVXVNNI")]
    [InlineData("DOTNET_EnableAVX2")]
    [InlineData("DOTNET_EnableHWIntrinsic")]
    public void Kernels_agree_with_the_reference_with_instruction_sets_switched_off(string disable)
    {
        var env = new Dictionary<string, string>();
        if (disable.Length > 0)
        {
            env[disable] = "0";
        }
        CliRunner.Result r = CliRunner.RunWith(null, env, "selftest");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("all kernels agree", r.Stdout);
        if (disable == "DOTNET_EnableAVX2")
        {
            Assert.Contains("AVX2=False", r.Stdout);
            Assert.Contains("tiled Vector128", r.Stdout);   // the portable float GEMM kernel ran
        }
        if (disable == "DOTNET_EnableHWIntrinsic")
        {
            Assert.Contains("tiled Scalar", r.Stdout);
        }
        if (disable == "DOTNET_EnableAVX512")
        {
            Assert.Contains("Vector512=False", r.Stdout);
        }
        string q8 = Path.Combine(_dir, "q8.gguf");
        Assert.Equal(0, CliRunner.Run("quantize", BundledModel, q8, "--type", "q8_0").ExitCode);
        CliRunner.Result story = CliRunner.RunWith(null, env, "run", "Once upon a time", "--model", q8, "-n", "12", "--temperature", "0");
        Assert.Equal(0, story.ExitCode);
        Assert.StartsWith(", there was a little girl", story.Stdout);
    }

    [GeneratedRegex(@"^PPL = \d+\.\d{4} \+/- \d+\.\d{4}$")]
    private static partial Regex PplLine();
}
