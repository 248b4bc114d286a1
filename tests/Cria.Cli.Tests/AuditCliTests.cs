using System.Text.Json;
using System.Text.RegularExpressions;

using Cria.Server.Audit;

using Microsoft.Data.Sqlite;

namespace Cria.Cli.Tests;

/// <summary>
/// `cria audit list|verify|export` through the real binary on a log in a temporary CRIA_HOME, and
/// `cria serve` auditing by default: its records are all there after a SIGTERM.
/// </summary>
public sealed partial class AuditCliTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("cria-audit-cli-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private Dictionary<string, string> Env => new() { ["CRIA_HOME"] = _home };

    private string DbPath => Path.Combine(_home, AuditStore.FileName);

    private CliRunner.Result Cria(params string[] args) => CliRunner.RunWith(null, Env, args);

    /// <summary>Ten requests: alice and bob alternating, the first three 40 days old, record 5 blocked by a guard, record 8 for another model.</summary>
    private void WriteLog()
    {
        byte[] key = AuditKey.LoadOrCreate(Path.Combine(_home, AuditKey.FileName));
        using AuditStore store = AuditStore.Open(DbPath, key, create: true);
        long old = DateTimeOffset.UtcNow.AddDays(-40).ToUnixTimeMilliseconds();
        store.Append([.. Enumerable.Range(1, 10).Select(i => new AuditRecord
        {
            TimeMs = i <= 3 ? old : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Key = i % 2 == 1 ? "alice" : "bob",
            Method = "POST",
            Route = "/v1/chat/completions",
            Status = i == 5 ? 400 : 200,
            Model = i == 8 ? "qwen" : "stories260K",
            PromptTokens = 10 * i,
            CompletionTokens = i == 5 ? 0 : 7,
            LatencyMicroseconds = 1500 * i,
            FinishReason = i == 5 ? null : "stop",
            FindingsJson = i == 5 ? AuditFindings.ToJson([new GuardFinding("injection", "ignore_previous", 0, 30, null, "block")]) : "[]",
            Actions = i == 5 ? "block" : "",
            PromptSha256 = AuditChain.Sha256($"prompt {i}"),
            OutputSha256 = AuditChain.Sha256($"output {i}"),
        })]);
    }

    private static int Rows(string table) => table.Split('\n').Count(l => RowPattern().IsMatch(l));

    [GeneratedRegex(@"^\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")]
    private static partial Regex RowPattern();

    [Fact]
    public void Verify_is_0_for_an_intact_log_and_1_naming_the_changed_record()
    {
        WriteLog();
        CliRunner.Result ok = Cria("audit", "verify");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Matches(@"^10 records, chain intact; head [0-9a-f]{64}", ok.Stdout);

        using (var db = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            db.Open();
            using SqliteCommand edit = db.CreateCommand();
            edit.CommandText = "UPDATE audit SET completion_tokens = 700 WHERE id = 6";
            edit.ExecuteNonQuery();
        }
        CliRunner.Result bad = Cria("audit", "verify");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("record 6: its fields do not match its hash", bad.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void List_filters_by_key_model_action_and_time()
    {
        WriteLog();
        CliRunner.Result all = Cria("audit", "list");
        Assert.True(all.ExitCode == 0, all.Stderr);
        Assert.Equal(10, Rows(all.Stdout));
        Assert.Contains("/v1/chat/completions", all.Stdout, StringComparison.Ordinal);

        CliRunner.Result alice = Cria("audit", "list", "--key", "alice");
        Assert.Equal(5, Rows(alice.Stdout));
        Assert.DoesNotContain("bob", alice.Stdout, StringComparison.Ordinal);

        Assert.Equal(1, Rows(Cria("audit", "list", "--model", "qwen").Stdout));
        CliRunner.Result blocked = Cria("audit", "list", "--action", "block");
        Assert.Equal(1, Rows(blocked.Stdout));
        Assert.Contains(" 400 ", blocked.Stdout, StringComparison.Ordinal);
        Assert.Equal(7, Rows(Cria("audit", "list", "--since", "7d").Stdout));
        Assert.Equal(3, Rows(Cria("audit", "list", "--limit", "3").Stdout));

        CliRunner.Result none = Cria("audit", "list", "--key", "carol");
        Assert.Equal(0, none.ExitCode);
        Assert.Contains("no audit records match", none.Stderr, StringComparison.Ordinal);

        CliRunner.Result badSince = Cria("audit", "list", "--since", "last tuesday");
        Assert.Equal(1, badSince.ExitCode);
        Assert.Contains("--since must be a duration", badSince.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_writes_one_json_object_per_record_with_its_hashes()
    {
        WriteLog();
        CliRunner.Result export = Cria("audit", "export", "--format", "jsonl");
        Assert.True(export.ExitCode == 0, export.Stderr);
        string[] lines = export.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length);
        string prev = AuditChain.Genesis;
        for (int i = 0; i < lines.Length; i++)
        {
            using JsonDocument doc = JsonDocument.Parse(lines[i]);
            JsonElement r = doc.RootElement;
            Assert.Equal(i + 1, r.GetProperty("id").GetInt64());
            Assert.Equal(prev, r.GetProperty("prev_hash").GetString());
            prev = r.GetProperty("hash").GetString()!;
        }
        using JsonDocument fifth = JsonDocument.Parse(lines[4]);
        Assert.Equal("injection", fifth.RootElement.GetProperty("findings")[0].GetProperty("detector").GetString());

        CliRunner.Result csv = Cria("audit", "export", "--format", "csv");
        Assert.Equal(1, csv.ExitCode);
        Assert.Contains("--format must be jsonl", csv.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_or_missing_log_is_one_clear_line()
    {
        CliRunner.Result missing = Cria("audit", "verify");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no audit log at", missing.Stderr, StringComparison.Ordinal);

        File.WriteAllBytes(DbPath, [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 31 + 7))]);
        foreach (string command in new[] { "verify", "list", "export" })
        {
            CliRunner.Result corrupt = Cria("audit", command);
            Assert.Equal(1, corrupt.ExitCode);
            Assert.Contains($"{DbPath} cannot be read as an audit log", corrupt.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", corrupt.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Serve_audits_by_default_and_a_sigterm_loses_no_record()
    {
        const int requests = 25;
        using (var serve = new KillHarness.Child(Env, "serve", "--port", "0"))
        {
            Match? url = serve.WaitForLine(ServingPattern(), TimeSpan.FromSeconds(60));
            Assert.True(url is not null, serve.Stderr);
            using (var http = new HttpClient { BaseAddress = new Uri(url.Groups[1].Value), Timeout = TimeSpan.FromSeconds(30) })
            {
                for (int i = 0; i < requests - 1; i++)
                {
                    using HttpResponseMessage response = await http.GetAsync(i % 2 == 0 ? "/health" : "/v1/models");
                    Assert.True(response.IsSuccessStatusCode);
                }
                using var body = new StringContent("""{"model":"stories260K","prompt":"Once","max_tokens":4}""", System.Text.Encoding.UTF8, "application/json");
                using HttpResponseMessage completion = await http.PostAsync("/v1/completions", body);
                Assert.True(completion.IsSuccessStatusCode);
            }
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }
            Assert.Equal(0, serve.Wait(TimeSpan.FromSeconds(60)));
        }
        CliRunner.Result verify = Cria("audit", "verify");
        Assert.True(verify.ExitCode == 0, verify.Stderr);
        Assert.StartsWith($"{requests} records, chain intact", verify.Stdout, StringComparison.Ordinal);
        CliRunner.Result list = Cria("audit", "list", "--model", "stories260K");
        Assert.Equal(1, Rows(list.Stdout));
        Assert.Contains("POST /v1/completions", list.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_no_audit_writes_no_log()
    {
        using (var serve = new KillHarness.Child(Env, "serve", "--port", "0", "--no-audit"))
        {
            Match? url = serve.WaitForLine(ServingPattern(), TimeSpan.FromSeconds(60));
            Assert.True(url is not null, serve.Stderr);
            using var http = new HttpClient { BaseAddress = new Uri(url.Groups[1].Value), Timeout = TimeSpan.FromSeconds(30) };
            using HttpResponseMessage response = await http.GetAsync("/health");
            Assert.True(response.IsSuccessStatusCode);
            Assert.Contains("audit log off", serve.Stderr, StringComparison.Ordinal);
        }
        Assert.False(File.Exists(DbPath));

        CliRunner.Result conflict = Cria("serve", "--no-audit", "--audit-text");
        Assert.Equal(1, conflict.ExitCode);
        Assert.Contains("--no-audit cannot be combined", conflict.Stderr, StringComparison.Ordinal);
        CliRunner.Result badRetention = Cria("serve", "--audit-retention", "forever");
        Assert.Equal(1, badRetention.ExitCode);
        Assert.Contains("--audit-retention must be a duration", badRetention.Stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"serving .* on (http://\S+) ")]
    private static partial Regex ServingPattern();
}
