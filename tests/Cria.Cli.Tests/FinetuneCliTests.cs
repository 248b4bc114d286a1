using System.Text.Json;

namespace Cria.Cli.Tests;

/// <summary>
/// <c>cria finetune</c> as a user runs it: the README's two commands (fine-tune the bundled model on a
/// JSONL file, then chat with the adapter), the PEFT folder format, and one-line errors for bad data.
/// </summary>
public sealed class FinetuneCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-ft-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Stories(string name, int count, int seed)
    {
        var rng = new Random(seed);
        string[] animals = ["cat", "dog", "bird", "frog"];
        string[] places = ["park", "garden", "pond", "yard"];
        var lines = Enumerable.Range(0, count).Select(_ => JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["text"] = $"Once upon a time, there was a little {animals[rng.Next(4)]} named Zorblat. Zorblat liked to play in the {places[rng.Next(4)]}. Zorblat was very happy.",
        }));
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static void AssertOneLineError(CliRunner.Result r, string expected)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.StartsWith("cria: error: ", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void Finetune_writes_the_adapter_and_loss_files_and_run_uses_the_adapter()
    {
        string train = Stories("train.jsonl", 24, 1);
        string eval = Stories("eval.jsonl", 6, 2);
        string adapter = Path.Combine(_dir, "zorblat.gguf");
        CliRunner.Result r = CliRunner.Run("finetune", "--data", train, "--eval", eval, "--steps", "30", "--lr", "1e-2", "--ctx", "128", "-o", adapter);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("training data: " + train + ": 24 examples", r.Stderr);
        Assert.Contains("step 30/30", r.Stderr);
        Assert.Contains("eval at step 0: loss", r.Stderr);
        Assert.Contains("eval at step 30: loss", r.Stderr);
        Assert.True(File.Exists(adapter));
        Assert.True(File.Exists(Path.Combine(_dir, "zorblat.ckpt")));
        string[] csv = File.ReadAllLines(Path.Combine(_dir, "zorblat.loss.csv"));
        Assert.Equal("step,train_loss,eval_loss,lr", csv[0]);
        Assert.Equal(31, csv.Length - 1);
        Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(_dir, "zorblat.loss.svg")));

        CliRunner.Result chat = CliRunner.Run("run", "--adapter", adapter, "--temperature", "0", "--max-tokens", "30", "Once upon a time");
        Assert.Equal(0, chat.ExitCode);
        Assert.Contains("Zorblat", chat.Stdout);
    }

    [Fact]
    public void Finetune_writes_a_PEFT_folder_that_run_reads()
    {
        string train = Stories("train.jsonl", 8, 3);
        string folder = Path.Combine(_dir, "peft");
        CliRunner.Result r = CliRunner.Run("finetune", "--data", train, "--steps", "3", "--ctx", "64", "--rank", "4", "--format", "peft", "-o", folder);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(Path.Combine(folder, "adapter_model.safetensors")));
        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")));
        Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());
        Assert.True(File.Exists(Path.Combine(_dir, "peft.loss.csv")));
        CliRunner.Result run = CliRunner.Run("run", "--adapter", folder, "--temperature", "0", "--max-tokens", "5", "Once");
        Assert.True(run.ExitCode == 0, run.Stderr);
    }

    [Fact]
    public void Malformed_data_and_bad_options_are_one_line_errors()
    {
        string bad = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(bad, ["{\"text\": \"fine\"}", "{\"prompt\": \"no completion\"}"]);
        string outPath = Path.Combine(_dir, "x.gguf");
        AssertOneLineError(CliRunner.Run("finetune", "--data", bad, "-o", outPath), $"{bad}:2: \"prompt\" needs a \"completion\"");
        string good = Stories("good.jsonl", 2, 4);
        AssertOneLineError(CliRunner.Run("finetune", "--data", Path.Combine(_dir, "missing.jsonl"), "-o", outPath), "data file not found");
        AssertOneLineError(CliRunner.Run("finetune", "--data", good, "--targets", "q,x", "-o", outPath), "unknown LoRA target \"x\"");
        AssertOneLineError(CliRunner.Run("finetune", "--data", good, "--format", "onnx", "-o", outPath), "--format must be gguf or peft");
        AssertOneLineError(CliRunner.Run("finetune", "--data", good, "--epochs", "1", "--steps", "2", "-o", outPath), "not both");
        AssertOneLineError(CliRunner.Run("finetune", "--data", good, "--ctx", "100000", "-o", outPath), "--ctx must be between");
        AssertOneLineError(CliRunner.Run("finetune", "--data", good, "--resume", Path.Combine(_dir, "none.ckpt"), "-o", outPath), "checkpoint not found");
        Assert.False(File.Exists(outPath));
    }
}
