using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

using Cria.Core.Synthetic;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

using Xunit.Abstractions;

namespace Cria.Cli.Tests;

/// <summary>
/// Kill -9 anywhere loses nothing: `cria create`, `cria pull` (from a `cria hub serve` child), `cria push`
/// (to one), raw registry uploads to a hub that is itself killed, and `cria finetune` are killed (SIGKILL) at
/// seeded random points after they start working. After each kill the store lists only complete models,
/// each of which loads and runs a forward pass, nothing is corrupt or half-listed, `cria doctor` repairs
/// the leftovers to clean, and a retry of the same command succeeds; a fine-tune resumed from its last
/// checkpoint writes the same loss curve as an uninterrupted run. A handful of kills per operation here;
/// <c>CRIA_KILL_RUNS=50 bench/kill</c> runs the long mode (docs/RELIABILITY.md, "Kill -9").
/// </summary>
public sealed class KillTests : IDisposable
{
    private const string Token = "kill-push-token-0123456789";
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-kill-").FullName;
    private readonly ITestOutputHelper _output;

    public KillTests(ITestOutputHelper output)
    {
        _output = output;
        // A 17 MB random-weight model (shape "tiny", f32): big enough that a kill lands inside its copy,
        // hash, upload or download, small enough to keep each run under a second or two.
        SyntheticModel.Write("tiny", "f32", 7, Path.Combine(_dir, "tiny.gguf"), CliRunner.RepoPath("tests/data/llama.cpp/vocab/ggml-vocab-llama-spm.gguf"));
        File.WriteAllText(Path.Combine(_dir, "Modelfile"), "FROM ./tiny.gguf\nPARAMETER temperature 0\nLICENSE MIT\n");
    }

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

    private string HomePath(string name) => Path.Combine(_dir, name);

    private Dictionary<string, string> Home(string name) => new() { ["CRIA_HOME"] = HomePath(name) };

    private TimeSpan CreateInto(string home) =>
        KillHarness.RunToEnd(Home(home), "create", "tiny", "-f", Path.Combine(_dir, "Modelfile"));

    [Fact]
    public void Create_killed_anywhere_lists_only_complete_models_and_a_retry_succeeds()
    {
        var rng = new Random(KillHarness.Seed);
        var tally = new KillHarness.Tally("create");
        TimeSpan window = CreateInto("reference");
        for (int i = 0; i < KillHarness.Runs; i++)
        {
            string home = $"create-{i}";
            if (i % 3 == 2)
            {
                CreateInto(home); // replacing a model that is already there, too
            }
            tally.Runs++;
            tally.Landed += KillHarness.RunAndKill(Home(home), rng, window, "create", "tiny", "-f", Path.Combine(_dir, "Modelfile")) ? 1 : 0;
            bool repairFirst = i % 2 == 0;
            tally.Leftovers += KillHarness.AssertSound(HomePath(home), repair: repairFirst);
            CreateInto(home);
            tally.Retries++;
            KillHarness.AssertSound(HomePath(home), repair: true);
            Assert.NotNull(new ModelStore(HomePath(home)).Find(Hub.ModelName.Parse("tiny")));
        }
        CliRunner.Result doctor = CliRunner.RunWith(null, Home($"create-0"), "doctor");
        Assert.True(doctor.ExitCode == 0, doctor.Stdout + doctor.Stderr);
        Assert.Contains("the store is clean", doctor.Stdout);
        tally.Report(_output);
    }

    [Fact]
    public void Pull_killed_anywhere_lists_only_complete_models_and_a_retry_resumes()
    {
        CreateInto("source");
        (KillHarness.Child hub, string host) = KillHarness.StartHub(HomePath("source"), null);
        using (hub)
        {
            var rng = new Random(KillHarness.Seed + 1);
            var tally = new KillHarness.Tally("pull");
            string name = $"{host}/library/tiny";
            TimeSpan window = KillHarness.RunToEnd(Home("pull-reference"), "pull", name);
            for (int i = 0; i < KillHarness.Runs; i++)
            {
                string home = $"pull-{i}";
                tally.Runs++;
                tally.Landed += KillHarness.RunAndKill(Home(home), rng, window, "pull", name) ? 1 : 0;
                // Every other run retries before the repair, so the retry resumes the partial download.
                bool repairFirst = i % 2 == 0;
                tally.Leftovers += KillHarness.AssertSound(HomePath(home), repair: repairFirst);
                KillHarness.RunToEnd(Home(home), "pull", name);
                tally.Retries++;
                KillHarness.AssertSound(HomePath(home), repair: true);
                Assert.NotNull(new ModelStore(HomePath(home)).Find(Hub.ModelName.Parse(name)));
            }
            tally.Report(_output);
        }
    }

    [Fact]
    public void Push_killed_anywhere_leaves_the_hub_with_only_complete_models_and_a_retry_succeeds()
    {
        CreateInto("pusher");
        var env = new Dictionary<string, string>(Home("pusher")) { ["CRIA_HUB_TOKEN"] = Token };
        var rng = new Random(KillHarness.Seed + 2);
        var tally = new KillHarness.Tally("push");
        TimeSpan window = TimeSpan.Zero;
        for (int i = -1; i < KillHarness.Runs; i++)
        {
            string hubHome = HomePath($"push-hub-{i + 1}");
            (KillHarness.Child hub, string host) = KillHarness.StartHub(hubHome, Token);
            using (hub)
            {
                if (i < 0)
                {
                    window = KillHarness.RunToEnd(env, "push", "tiny", "--to", host); // the reference run
                    continue;
                }
                tally.Runs++;
                tally.Landed += KillHarness.RunAndKill(env, rng, window, "push", "tiny", "--to", host) ? 1 : 0;
                KillHarness.AssertSound(hubHome, repair: false); // the hub is serving: checked, not repaired
                KillHarness.RunToEnd(env, "push", "tiny", "--to", host);
                tally.Retries++;
                Assert.NotNull(new ModelStore(hubHome).Find(Hub.ModelName.Parse("library/tiny")));
            }
            tally.Leftovers += KillHarness.AssertSound(hubHome, repair: true);
        }
        tally.Report(_output);
    }

    [Fact]
    public async Task A_hub_killed_during_uploads_publishes_nothing_half_written_and_takes_the_upload_again()
    {
        CreateInto("upload-source");
        var source = new ModelStore(HomePath("upload-source"));
        StoredManifest m = source.Get("tiny");
        var rng = new Random(KillHarness.Seed + 3);
        var tally = new KillHarness.Tally("hub upload");
        TimeSpan window = TimeSpan.Zero;
        for (int i = -1; i < KillHarness.Runs; i++)
        {
            string hubHome = HomePath($"upload-hub-{i + 1}");
            (KillHarness.Child hub, string host) = KillHarness.StartHub(hubHome, Token);
            using (hub)
            {
                if (i < 0)
                {
                    var clock = Stopwatch.StartNew();
                    Assert.True(await UploadAsync(host, source, m), "the reference upload failed");
                    window = clock.Elapsed;
                    continue;
                }
                tally.Runs++;
                Task<bool> upload = UploadAsync(host, source, m);
                await Task.Delay(TimeSpan.FromTicks((long)(rng.NextDouble() * window.Ticks)));
                hub.Kill();
                tally.Landed += await upload ? 0 : 1; // false: the kill cut the upload short
            }
            tally.Leftovers += KillHarness.AssertSound(hubHome, repair: true);
            (KillHarness.Child again, string host2) = KillHarness.StartHub(hubHome, Token);
            using (again)
            {
                Assert.True(await UploadAsync(host2, source, m), "the retried upload failed");
                tally.Retries++;
            }
            KillHarness.AssertSound(hubHome, repair: true);
            Assert.NotNull(new ModelStore(hubHome).Find(Hub.ModelName.Parse("team/tiny:v1")));
        }
        tally.Report(_output);
    }

    /// <summary>
    /// The registry protocol by hand: each blob by POST + PUT (sent in slow 256 KiB pieces, so a kill
    /// lands mid-body), then the manifest. False when the hub went away.
    /// </summary>
    private static async Task<bool> UploadAsync(string host, ModelStore source, StoredManifest m)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{host}/"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        try
        {
            foreach (ManifestLayer layer in m.Manifest.Blobs.DistinctBy(l => l.Digest))
            {
                using HttpResponseMessage start = await http.PostAsync("v2/team/tiny/blobs/uploads/", null);
                Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
                var content = new SlowFileContent(source.Blobs.PathOf(layer.Digest));
                using HttpResponseMessage put = await http.PutAsync($"{start.Headers.Location}?digest={layer.Digest}", content);
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }
            using var body = new ByteArrayContent(m.Bytes);
            body.Headers.ContentType = new MediaTypeHeaderValue(m.Manifest.MediaType);
            using HttpResponseMessage manifest = await http.PutAsync("v2/team/tiny/manifests/v1", body);
            Assert.True(manifest.StatusCode == HttpStatusCode.Created, await manifest.Content.ReadAsStringAsync());
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return false;
        }
    }

    private sealed class SlowFileContent(string path) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await using FileStream file = File.OpenRead(path);
            byte[] buffer = new byte[256 << 10];
            int n;
            while ((n = await file.ReadAsync(buffer)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, n));
                await Task.Delay(2);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = new FileInfo(path).Length;
            return true;
        }
    }

    [Fact]
    public void Finetune_killed_anywhere_resumes_from_its_checkpoint_with_the_same_loss_curve()
    {
        string data = Path.Combine(_dir, "train.jsonl");
        var rng = new Random(KillHarness.Seed + 4);
        File.WriteAllLines(data, Enumerable.Range(0, 16).Select(i => JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["text"] = $"Once upon a time, there was a little {(i % 2 == 0 ? "cat" : "dog")} named Zorblat. Zorblat liked to play.",
        })));
        string[] Args(string output, string? resume)
        {
            List<string> a = ["finetune", "--data", data, "--steps", "10", "--lr", "1e-2", "--ctx", "32", "--save-every", "1", "--threads", "1", "-o", output];
            if (resume is not null)
            {
                a.AddRange(["--resume", resume]);
            }
            return [.. a];
        }
        var none = new Dictionary<string, string>();
        string reference = Path.Combine(_dir, "ft-reference", "a.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(reference)!);
        TimeSpan window = KillHarness.RunToEnd(none, Args(reference, null));
        string expected = File.ReadAllText(Path.Combine(_dir, "ft-reference", "a.loss.csv"));

        var tally = new KillHarness.Tally("finetune");
        for (int i = 0; i < KillHarness.Runs; i++)
        {
            string dir = Path.Combine(_dir, $"ft-{i}");
            Directory.CreateDirectory(dir);
            string output = Path.Combine(dir, "a.gguf");
            string checkpoint = Path.Combine(dir, "a.ckpt");
            tally.Runs++;
            tally.Landed += KillHarness.RunAndKill(none, rng, window, Args(output, null)) ? 1 : 0;
            if (File.Exists(output))
            {
                // written atomically: if it is there, it is the whole adapter
                Assert.True(CliRunner.Run("info", output).ExitCode == 0, $"run {i}: a half-written adapter");
            }
            KillHarness.RunToEnd(none, Args(output, File.Exists(checkpoint) ? checkpoint : null));
            tally.Retries++;
            Assert.Equal(expected, File.ReadAllText(Path.Combine(dir, "a.loss.csv")));
            tally.Leftovers += Directory.EnumerateFiles(dir, ".*.tmp").Count();
        }
        tally.Report(_output);
    }
}
