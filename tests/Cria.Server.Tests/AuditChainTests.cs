using Cria.Server.Audit;

using Microsoft.Data.Sqlite;

namespace Cria.Server.Tests;

/// <summary>
/// The hash chain against someone with write access to <c>audit.db</c>: a row edited, deleted or
/// inserted with SQLite directly — even with every hash recomputed — is found and named; retention
/// prunes behind a signed checkpoint and the chain still verifies; a damaged row or file is a
/// clear error, never a crash; the writer drops nothing without saying so.
/// </summary>
public sealed class AuditChainTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-audit-chain-").FullName;
    private readonly byte[] _key;

    public AuditChainTests() => _key = AuditKey.LoadOrCreate(Path.Combine(_dir, AuditKey.FileName));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DbPath => Path.Combine(_dir, AuditStore.FileName);

    private static AuditRecord Request(int i, long timeMs = 0) => new()
    {
        TimeMs = timeMs != 0 ? timeMs : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        Key = i % 2 == 0 ? "alice" : "bob",
        Method = "POST",
        Route = "/v1/chat/completions",
        Status = 200,
        Model = "stories260K",
        PromptTokens = 10 + i,
        CompletionTokens = 5,
        LatencyMicroseconds = 1000 + i,
        FinishReason = "stop",
        FindingsJson = AuditFindings.ToJson([new GuardFinding("pii", "email", 3, 20, null, "redact")]),
        Actions = "redact",
        PromptSha256 = AuditChain.Sha256($"prompt {i}"),
        OutputSha256 = AuditChain.Sha256($"output {i}"),
    };

    private void Write(int count, long timeMs = 0, int from = 0)
    {
        using AuditStore store = AuditStore.Open(DbPath, _key, create: true);
        store.Append([.. Enumerable.Range(from, count).Select(i => Request(i, timeMs))]);
    }

    private AuditVerification Verify(byte[]? key = null)
    {
        using AuditStore store = AuditStore.Open(DbPath, null, create: false);
        return AuditVerifier.Verify(store, key ?? _key);
    }

    private void Sql(string sql)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        db.Open();
        using SqliteCommand command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void AssertBad(AuditVerification result, long id, string why)
    {
        Assert.False(result.Intact);
        Assert.Equal(id, result.BadRecordId);
        Assert.Contains(why, result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_intact_log_verifies()
    {
        Write(10);
        Write(5, from: 10);
        AuditVerification result = Verify();
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(15, result.Records);
        Assert.Matches("^[0-9a-f]{64}$", result.HeadHash!);
    }

    [Fact]
    public void A_changed_token_count_names_the_record()
    {
        Write(10);
        Sql("UPDATE audit SET completion_tokens = 0 WHERE id = 4");
        AssertBad(Verify(), 4, "its fields do not match its hash");
    }

    [Fact]
    public void A_deleted_record_is_named()
    {
        Write(10);
        Sql("DELETE FROM audit WHERE id = 6");
        AssertBad(Verify(), 6, "missing");
    }

    [Fact]
    public void Deleting_the_first_or_the_last_records_is_found_by_the_genesis_and_the_signed_head()
    {
        Write(10);
        Sql("DELETE FROM audit WHERE id >= 9");
        AssertBad(Verify(), 9, "records 9–10 are missing");
        Sql("DELETE FROM audit WHERE id <= 2");
        AssertBad(Verify(), 1, "records 1–2 are missing");
    }

    [Fact]
    public void An_inserted_record_is_named_even_with_a_correct_hash()
    {
        Write(5);
        Sql("INSERT INTO audit SELECT 6, kind, time_ms, key, method, route, status, model, adapters, prompt_tokens, completion_tokens, latency_us, finish, " +
            "findings, actions, prompt_sha256, output_sha256, prompt_text, output_text, pruned_through, pruned_count, pruned_hash, dropped, signature, prev_hash, hash FROM audit WHERE id = 3");
        AssertBad(Verify(), 6, "prev_hash does not match");

        // A forger who knows the format and recomputes the hash is still caught by the signed head.
        using (AuditStore store = AuditStore.Open(DbPath, null, create: false))
        {
            List<AuditRecord> records = [.. store.Query(new AuditQuery())];
            AuditRecord forged = records.Single(r => r.Id == 3) with { Id = 6, PrevHash = records.Single(r => r.Id == 5).Hash };
            forged = forged with { Hash = AuditChain.Hash(forged) };
            Sql($"UPDATE audit SET prev_hash = '{forged.PrevHash}', hash = '{forged.Hash}' WHERE id = 6");
        }
        AssertBad(Verify(), 6, "written after the signed head");
    }

    [Fact]
    public void A_rewritten_chain_is_caught_by_the_signed_head()
    {
        Write(4);
        // Change record 2 and recompute every hash after it, as someone without the key could.
        using (AuditStore store = AuditStore.Open(DbPath, null, create: false))
        {
            List<AuditRecord> records = [.. store.Query(new AuditQuery())];
            string prev = records[0].Hash;
            for (int i = 1; i < records.Count; i++)
            {
                AuditRecord r = records[i] with { PrevHash = prev, CompletionTokens = i == 1 ? 500 : records[i].CompletionTokens };
                r = r with { Hash = AuditChain.Hash(r) };
                Sql($"UPDATE audit SET completion_tokens = {r.CompletionTokens}, prev_hash = '{r.PrevHash}', hash = '{r.Hash}' WHERE id = {r.Id}");
                prev = r.Hash;
            }
        }
        AssertBad(Verify(), 4, "not the one the signed head names");
        // Without the key the chain alone looks intact: that is what the key is for (and the note says so).
        AuditVerification keyless;
        using (AuditStore store = AuditStore.Open(DbPath, null, create: false))
        {
            keyless = AuditVerifier.Verify(store, null);
        }
        Assert.Contains(keyless.Notes, n => n.Contains("not checked", StringComparison.Ordinal));
    }

    [Fact]
    public void Retention_prunes_behind_a_signed_checkpoint_and_the_chain_still_verifies()
    {
        long old = DateTimeOffset.UtcNow.AddDays(-40).ToUnixTimeMilliseconds();
        Write(20, old);
        Write(5);
        using (AuditStore store = AuditStore.Open(DbPath, _key, create: false))
        {
            Assert.Equal(20, store.Prune(DateTimeOffset.UtcNow.AddDays(-30)));
            Assert.Equal(0, store.Prune(DateTimeOffset.UtcNow.AddDays(-30))); // nothing more is that old
            AuditRecord checkpoint = store.Query(new AuditQuery()).Last();
            Assert.Equal((AuditKinds.Checkpoint, 20L, 20L), (checkpoint.Kind, checkpoint.PrunedThrough!.Value, checkpoint.PrunedCount!.Value));
            Assert.Equal(6, store.Count());
        }
        AuditVerification result = Verify();
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(6, result.Records);

        // More records, then a second pruning that removes the first checkpoint too.
        Write(3);
        using (AuditStore store = AuditStore.Open(DbPath, _key, create: false))
        {
            Assert.Equal(9, store.Prune(DateTimeOffset.UtcNow.AddMinutes(1)));
        }
        result = Verify();
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(1, result.Records);
        Write(2);
        Assert.True(Verify().Intact);
    }

    [Fact]
    public void Deleting_past_a_checkpoint_or_forging_its_signature_is_found()
    {
        Write(10, DateTimeOffset.UtcNow.AddDays(-40).ToUnixTimeMilliseconds());
        Write(5);
        using (AuditStore store = AuditStore.Open(DbPath, _key, create: false))
        {
            store.Prune(DateTimeOffset.UtcNow.AddDays(-30));
        }
        Sql("DELETE FROM audit WHERE id = 11");
        AssertBad(Verify(), 11, "pruned only through record 10");

        File.Delete(DbPath);
        Write(10, DateTimeOffset.UtcNow.AddDays(-40).ToUnixTimeMilliseconds());
        using (AuditStore store = AuditStore.Open(DbPath, _key, create: false))
        {
            store.Prune(DateTimeOffset.UtcNow.AddDays(-30));
        }
        Assert.True(Verify().Intact);
        AssertBad(Verify(new byte[32]), 11, "signature does not verify");
    }

    [Fact]
    public void A_damaged_row_or_file_is_a_clear_error()
    {
        Write(5);
        Sql("UPDATE audit SET prompt_tokens = 'lots' WHERE id = 3");
        AssertBad(Verify(), 3, "column prompt_tokens holds the text \"lots\"");
        Sql("UPDATE audit SET prompt_tokens = 13, hash = x'0102' WHERE id = 3");
        AssertBad(Verify(), 3, "column hash holds a blob of 2 bytes");

        File.WriteAllText(DbPath, "this is not a database, just text that goes on for a while." + new string('x', 5000));
        foreach (string f in Directory.GetFiles(_dir, AuditStore.FileName + "-*"))
        {
            File.Delete(f);
        }
        var e = Assert.Throws<InvalidDataException>(() => AuditStore.Open(DbPath, null, create: false));
        Assert.Contains(DbPath, e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => AuditStore.Open(Path.Combine(_dir, "none.db"), null, create: false));
    }

    [Fact]
    public void A_forged_head_stops_a_writer_from_carrying_on()
    {
        Write(3);
        Sql("UPDATE audit_head SET last_id = 2");
        using AuditStore store = AuditStore.Open(DbPath, _key, create: false);
        var e = Assert.Throws<InvalidDataException>(store.CheckHead);
        Assert.Contains("does not verify", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_writers_on_one_file_interleave_batches_into_one_chain()
    {
        Write(1);
        async Task Writer(int from)
        {
            using AuditStore store = AuditStore.Open(DbPath, _key, create: false);
            for (int batch = 0; batch < 20; batch++)
            {
                store.Append([.. Enumerable.Range(from + batch * 10, 10).Select(i => Request(i))]);
                await Task.Yield();
            }
        }
        await Task.WhenAll(Task.Run(() => Writer(1000)), Task.Run(() => Writer(2000)));
        AuditVerification result = Verify();
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(401, result.Records);
    }

    [Fact]
    public async Task A_full_queue_drops_records_only_with_a_gap_record_that_counts_them()
    {
        var options = new AuditOptions { DatabasePath = DbPath, KeyPath = Path.Combine(_dir, AuditKey.FileName), QueueCapacity = 1, FullWait = TimeSpan.Zero };
        AuditStore store = AuditStore.Open(DbPath, _key, create: true);
        long dropped;
        const int offered = 2000;
        using (var writer = new AuditWriter(store, options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, null))
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
            {
                for (int i = 0; i < offered / 4; i++)
                {
                    await writer.OfferAsync(Request(i));
                }
            })));
            await writer.StopAsync(CancellationToken.None);
            dropped = writer.Dropped;
            Assert.Equal(offered - dropped, writer.Written);
        }
        using AuditStore read = AuditStore.Open(DbPath, null, create: false);
        List<AuditRecord> records = [.. read.Query(new AuditQuery())];
        Assert.Equal(offered - dropped, records.Count(r => r.Kind == AuditKinds.Request));
        Assert.Equal(dropped, records.Where(r => r.Kind == AuditKinds.Gap).Sum(r => r.Dropped!.Value));
        Assert.True(AuditVerifier.Verify(read, _key).Intact);
    }

    [Fact]
    public void Findings_are_stored_in_one_canonical_form_without_the_matched_text()
    {
        GuardFinding[] findings = [new("pii", "email", 0, 17, null, "redact"), new("injection", "ignore_previous", 20, 44, "S14", "block"), new("pii", "phone", 50, 62, null, "redact")];
        string json = AuditFindings.ToJson(findings);
        Assert.Equal("""[{"detector":"pii","type":"email","start":0,"end":17,"category":null,"action":"redact"},{"detector":"injection","type":"ignore_previous","start":20,"end":44,"category":"S14","action":"block"},{"detector":"pii","type":"phone","start":50,"end":62,"category":null,"action":"redact"}]""", json);
        Assert.Equal(findings, AuditFindings.Parse(json));
        Assert.Equal("redact,block", AuditFindings.Actions(findings));
        Assert.Throws<InvalidDataException>(() => AuditFindings.Parse("{\"not\": \"an array\"}"));
    }

    [Theory]
    [InlineData("30d", 30 * 86400)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("90m", 90 * 60)]
    [InlineData("2w", 14 * 86400)]
    [InlineData("45s", 45)]
    public void Retention_durations_parse(string text, int seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), AuditOptions.ParseDuration(text));

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("0d")]
    [InlineData("-3d")]
    [InlineData("3y")]
    [InlineData("99999999999d")]
    public void Bad_retention_durations_are_refused(string text) => Assert.Null(AuditOptions.ParseDuration(text));
}
