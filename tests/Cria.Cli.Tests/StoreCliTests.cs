namespace Cria.Cli.Tests;

/// <summary>The model store through the real `cria` binary, with CRIA_HOME in a temporary folder.</summary>
public sealed class StoreCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Dictionary<string, string> Env => new() { ["CRIA_HOME"] = Path.Combine(_dir, "home") };

    private CliRunner.Result Cria(params string[] args) => CliRunner.RunWith(null, Env, args);

    [Fact]
    public void Create_list_run_show_copy_and_remove_a_stored_model()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "models", "stories260K.gguf"), Path.Combine(_dir, "stories260K.gguf"));
        string modelfile = Path.Combine(_dir, "Modelfile");
        File.WriteAllText(modelfile, """
            # the bundled model, greedy, stopping at a name
            FROM ./stories260K.gguf
            PARAMETER temperature 0
            PARAMETER num_predict 40
            PARAMETER stop Lily
            SYSTEM You tell short stories.
            LICENSE MIT
            """);

        CliRunner.Result created = Cria("create", "stories:greedy", "-f", modelfile);
        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.StartsWith("created 'stories:greedy'", created.Stdout);

        CliRunner.Result list = Cria("list");
        Assert.Equal(0, list.ExitCode);
        string[] lines = list.Stdout.Trim().Split('\n');
        Assert.Matches(@"^NAME\s+ID\s+SIZE\s+QUANT\s+FAMILY\s+LICENCE\s+MODIFIED", lines[0]);
        Assert.Matches(@"^stories:greedy\s+[0-9a-f]{12}\s+1\.0 MiB\s+F32\s+llama\s+mit\s+just now", lines[1]);

        // the stored PARAMETERs are run's defaults: greedy, and stop before "Lily"
        CliRunner.Result run = Cria("run", "Once upon a time", "--model", "stories:greedy");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(", there was a little girl named", run.Stdout.TrimEnd());
        // an option on the command line wins over the stored parameter
        CliRunner.Result longer = Cria("run", "Once upon a time", "--model", "stories:greedy", "--stop", "zzz", "-n", "12");
        Assert.StartsWith(", there was a little girl named Lily.", longer.Stdout);

        CliRunner.Result show = Cria("show", "stories:greedy", "--parameters");
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("temperature", show.Stdout);
        Assert.Contains("Lily", show.Stdout);
        Assert.Contains("1. import", Cria("show", "stories:greedy", "--lineage").Stdout);
        Assert.Equal("You tell short stories.", Cria("show", "stories:greedy", "--system").Stdout.TrimEnd());

        Assert.Equal(0, Cria("cp", "stories:greedy", "team/stories:v1").ExitCode);
        Assert.Equal(2, Cria("list").Stdout.Trim().Split('\n').Length - 1);

        CliRunner.Result bad = Cria("rm", "stories:greedy", "no-such-model");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("no-such-model:latest", bad.Stderr);
        Assert.Equal(2, Cria("list").Stdout.Trim().Split('\n').Length - 1); // nothing removed

        CliRunner.Result rm = Cria("rm", "stories:greedy", "team/stories:v1");
        Assert.Equal(0, rm.ExitCode);
        Assert.Equal("deleted 'stories:greedy'\ndeleted 'team/stories:v1'", rm.Stdout.Trim().ReplaceLineEndings("\n"));
        Assert.Equal([".writers"], Directory.GetFiles(Path.Combine(_dir, "home", "models", "blobs")).Select(Path.GetFileName)); // every blob is gone; the writers' lock file stays, like .lock
        Assert.Contains("no models", Cria("list").Stderr);
        Assert.Contains("not found", Cria("run", "hi", "--model", "stories:greedy").Stderr);
    }

    [Fact]
    public void Bad_modelfiles_and_names_are_one_clear_line()
    {
        string modelfile = Path.Combine(_dir, "Modelfile");
        File.WriteAllText(modelfile, "FROM ./stories260K.gguf\nPARAMETER temperature warm\n");
        CliRunner.Result r = Cria("create", "x", "-f", modelfile);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"cria: error: {modelfile}:2: parameter temperature must be a finite number, got \"warm\"", r.Stderr.Trim());

        File.WriteAllText(modelfile, "FROM llama3.2\n");
        Assert.Contains("run `cria pull llama3.2` first", Cria("create", "x", "-f", modelfile).Stderr);
        Assert.Contains("contains \"..\"", Cria("create", "a..b", "-f", modelfile).Stderr);
        Assert.Contains("not a valid host name", Cria("show", "../etc/passwd").Stderr);
        Assert.Contains("must start with a letter", Cria("rm", "..").Stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "home", "models", "manifests")));
    }
}
