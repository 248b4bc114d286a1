using System.Diagnostics;
using System.Text.RegularExpressions;

using Cria.Hub;
using Cria.Hub.Store;
using Cria.Tests.Fakes;

namespace Cria.Cli.Tests;

/// <summary>cria pull, push and hub serve through the real binary, each store in its own CRIA_HOME under a temporary folder.</summary>
public sealed partial class HubCliTests : IDisposable
{
    private const string Token = "cli-push-token-0123456789";
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-hubcli-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Dictionary<string, string> Home(string store) => new() { ["CRIA_HOME"] = Path.Combine(_dir, store) };

    private CliRunner.Result Cria(string store, params string[] args) => CliRunner.RunWith(null, Home(store), args);

    private CliRunner.Result CriaWith(Dictionary<string, string> env, params string[] args) => CliRunner.RunWith(null, env, args);

    private void CreateStories(string store)
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "models", "stories260K.gguf"), Path.Combine(_dir, "stories260K.gguf"), overwrite: true);
        File.WriteAllText(Path.Combine(_dir, "Modelfile"), "FROM ./stories260K.gguf\nPARAMETER temperature 0\nLICENSE MIT\n");
        CliRunner.Result created = Cria(store, "create", "stories", "-f", Path.Combine(_dir, "Modelfile"));
        Assert.True(created.ExitCode == 0, created.Stderr);
    }

    /// <summary>Starts `cria` in the background (the caller kills it).</summary>
    private static Process Start(Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cria.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach ((string k, string v) in env)
        {
            psi.Environment[k] = v;
        }
        return Process.Start(psi)!;
    }

    private static void Stop(Process p)
    {
        if (!p.HasExited)
        {
            p.Kill(entireProcessTree: true);
        }
        p.WaitForExit(10_000);
        p.Dispose();
    }

    [Fact]
    public void Hub_serve_pull_by_both_protocols_and_push_with_a_token()
    {
        CreateStories("A");
        Process hub = Start(Home("A"), "hub", "serve", "--port", "0", "--push-token", Token);
        try
        {
            string? line;
            string host = "";
            var clock = Stopwatch.StartNew();
            while ((line = hub.StandardError.ReadLine()) is not null && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                if (ListeningOn().Match(line) is { Success: true } m)
                {
                    host = m.Groups[1].Value;
                    break;
                }
            }
            Assert.True(host.Length > 0, "the hub did not say where it listens");
            _ = hub.StandardError.ReadToEndAsync(); // keep draining

            CliRunner.Result registry = Cria("B", "pull", $"{host}/library/stories");
            Assert.True(registry.ExitCode == 0, registry.Stderr);
            Assert.StartsWith($"pulled '{host}/library/stories:latest'", registry.Stdout);
            Assert.Contains("downloading", registry.Stderr);

            CliRunner.Result hf = Cria("B", "pull", "hf.co/library/stories", "--hf-endpoint", $"http://{host}");
            Assert.True(hf.ExitCode == 0, hf.Stderr);
            Assert.Matches(@"^pulled 'hf\.co/library/stories:latest' \([0-9a-f]{12}, 1\.0 MiB\) at [0-9a-f]{12}", hf.Stdout);

            string[] rows = Cria("B", "list").Stdout.Trim().Split('\n');
            Assert.Equal(3, rows.Length);
            Assert.All(rows[1..], r => Assert.Matches(@"\s1\.0 MiB\s+F32\s+llama\s+mit\s", r));
            Assert.Contains("resolve/", Cria("B", "show", "hf.co/library/stories", "--lineage").Stdout);
            CliRunner.Result run = Cria("B", "run", "Once upon a time", "--model", "hf.co/library/stories", "-n", "8", "--temperature", "0"); // the HF protocol carries the GGUF and README, not the params layer
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.StartsWith(", there was a little girl", run.Stdout);

            Assert.Equal(0, Cria("B", "cp", "hf.co/library/stories", "team/story:v2").ExitCode);
            CliRunner.Result refused = Cria("B", "push", "team/story:v2", "--to", host);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("401", refused.Stderr);
            var withToken = new Dictionary<string, string>(Home("B")) { ["CRIA_HUB_TOKEN"] = Token };
            CliRunner.Result pushed = CriaWith(withToken, "push", "team/story:v2", "--to", host);
            Assert.True(pushed.ExitCode == 0, pushed.Stderr);
            Assert.StartsWith($"pushed 'team/story:v2' to {host}/team/story:v2", pushed.Stdout);

            CliRunner.Result again = Cria("C", "pull", $"{host}/team/story:v2");
            Assert.True(again.ExitCode == 0, again.Stderr);
            Assert.Contains("team/story:v2", Cria("A", "list").Stdout);

            CliRunner.Result traversal = Cria("C", "pull", $"{host}/../etc/passwd");
            Assert.Equal(1, traversal.ExitCode);
            Assert.StartsWith("cria: error: ", traversal.Stderr);
        }
        finally
        {
            Stop(hub);
        }
    }

    [Fact]
    public async Task A_killed_pull_leaves_its_partial_file_and_the_next_pull_resumes()
    {
        CreateStories("A");
        var a = new ModelStore(Path.Combine(_dir, "A"));
        StoredManifest m = a.Get("stories");
        await using FakeRegistry fake = await FakeRegistry.StartAsync(m.Bytes,
            m.Manifest.Blobs.DistinctBy(l => l.Digest).ToDictionary(l => l.Digest.ToString(), l => File.ReadAllBytes(a.Blobs.PathOf(l.Digest))));
        fake.ChunkDelay = TimeSpan.FromMilliseconds(100);
        Digest weights = m.Manifest.Find(Hub.Manifests.MediaTypes.Model)!.Digest;
        string partial = Path.Combine(_dir, "B", "models", "blobs", weights.FileName + "-partial");

        Process pull = Start(Home("B"), "pull", $"{fake.Host}/library/stories");
        try
        {
            var clock = Stopwatch.StartNew();
            while (!(File.Exists(partial) && new FileInfo(partial).Length > 100_000) && clock.Elapsed < TimeSpan.FromSeconds(60) && !pull.HasExited)
            {
                await Task.Delay(25);
            }
        }
        finally
        {
            Stop(pull); // killed, not cancelled: no cleanup code runs
        }
        long kept = new FileInfo(partial).Length;
        Assert.True(kept is > 100_000 and < 1_054_432, $"{kept}");

        fake.ChunkDelay = TimeSpan.Zero;
        CliRunner.Result resumed = Cria("B", "pull", $"{fake.Host}/library/stories");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.False(File.Exists(partial));
        string last = fake.Requests.Last(r => r.StartsWith(weights.ToString(), StringComparison.Ordinal));
        Assert.Contains($" bytes={kept}-", last);
        Assert.True(new ModelStore(Path.Combine(_dir, "B")).Blobs.Verify(weights));
    }

    [GeneratedRegex(@"on http://(127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
