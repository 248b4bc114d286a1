using System.CommandLine;
using System.Globalization;
using System.Text.Json;

using Cria.Server.Audit;
using Cria.Server.Auth;

using Spectre.Console;

namespace Cria.Cli;

/// <summary>
/// <c>cria audit list|verify|export</c>: reads the audit log <c>cria serve</c> writes
/// (<c>$CRIA_HOME/audit.db</c>, or <c>--file</c>), checking signatures with <c>$CRIA_HOME/audit.key</c>.
/// <c>verify</c> exits 0 when the chain is intact and 1 naming the first bad record.
/// </summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var file = new Option<string?>("--file") { Description = "the audit log (default: $CRIA_HOME/audit.db, as `cria serve --audit` writes it)", Recursive = true };

        var since = new Option<string?>("--since") { Description = "only records from this long ago (24h, 7d) or since this UTC date/time (2026-01-31, 2026-01-31T12:00)" };
        var key = new Option<string?>("--key") { Description = "only requests made with this API key (by name)" };
        var model = new Option<string?>("--model") { Description = "only requests for this model" };
        var action = new Option<string?>("--action") { Description = "only requests where the guard took this action (block, redact, log, route_local)" };
        var limit = new Option<int>("--limit") { Description = "the newest N records (0: all)", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "List audit records as a table, oldest first.") { since, key, model, action, limit };
        list.SetAction(p => CliErrors.Run(() =>
        {
            int n = p.GetValue(limit);
            if (n < 0)
            {
                throw new UserException($"--limit must be ≥ 0, got {n}");
            }
            var query = new AuditQuery
            {
                Since = ParseSince(p.GetValue(since)),
                Key = p.GetValue(key),
                Model = p.GetValue(model),
                Action = p.GetValue(action),
                Limit = n == 0 ? null : n,
            };
            using AuditStore store = Open(p.GetValue(file));
            var table = new Table().Border(TableBorder.Simple)
                .AddColumn(new TableColumn("id").RightAligned()).AddColumn("time (UTC)").AddColumn("key").AddColumn("request").AddColumn(new TableColumn("status").RightAligned())
                .AddColumn("model").AddColumn(new TableColumn("tokens").RightAligned()).AddColumn(new TableColumn("ms").RightAligned()).AddColumn("finish").AddColumn("guard");
            int rows = 0;
            foreach (AuditRecord r in store.Query(query))
            {
                rows++;
                table.AddRow(
                    r.Id.ToString(CultureInfo.InvariantCulture),
                    r.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    Markup.Escape(r.Key),
                    Markup.Escape(Describe(r)),
                    r.Kind == AuditKinds.Request ? r.Status.ToString(CultureInfo.InvariantCulture) : "",
                    Markup.Escape(r.Model is null ? "" : r.Adapters is null ? r.Model : $"{r.Model}+{r.Adapters.Replace(',', '+')}"),
                    r.PromptTokens + r.CompletionTokens > 0 ? string.Create(CultureInfo.InvariantCulture, $"{r.PromptTokens}+{r.CompletionTokens}") : "",
                    r.Kind == AuditKinds.Request ? (r.LatencyMicroseconds / 1000.0).ToString("F1", CultureInfo.InvariantCulture) : "",
                    r.FinishReason ?? "",
                    Markup.Escape(r.Actions));
            }
            if (rows == 0)
            {
                Console.Error.WriteLine($"cria: no audit records match in {store.Path}");
                return 0;
            }
            if (Console.IsOutputRedirected)
            {
                AnsiConsole.Console.Profile.Width = 240; // a pipe or a file: one line per record
            }
            AnsiConsole.Console.Write(table);
            return 0;
        }));

        var verify = new Command("verify", "Check the hash chain, the checkpoints and the signed head: exit 0 when intact, 1 naming the first bad record.");
        verify.SetAction(p => CliErrors.Run(() =>
        {
            using AuditStore store = Open(p.GetValue(file));
            byte[]? auditKey = AuditKey.TryLoad(KeyPath());
            AuditVerification result = AuditVerifier.Verify(store, auditKey);
            foreach (string note in result.Notes)
            {
                Console.Error.WriteLine($"cria: note: {note}");
            }
            if (!result.Intact)
            {
                Console.Error.WriteLine($"cria: audit log {store.Path} is NOT intact: record {result.BadRecordId?.ToString(CultureInfo.InvariantCulture)}: {result.Problem}");
                return 1;
            }
            if (auditKey is null && result.Records > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Records} records, hash chain intact (signatures not checked: no {KeyPath()}); head {result.HeadHash}"));
                return 1;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Records} records, chain intact; head {result.HeadHash ?? AuditChain.Genesis}"));
            return 0;
        }));

        var format = new Option<string>("--format") { Description = "output format: jsonl (one JSON object per record, every field, for an external verifier)", DefaultValueFactory = _ => "jsonl" };
        var exportSince = new Option<string?>("--since") { Description = "only records from this long ago (24h, 7d) or since this UTC date/time" };
        var export = new Command("export", "Write every record to stdout, hashes included.") { format, exportSince };
        export.SetAction(p => CliErrors.Run(() =>
        {
            string f = p.GetValue(format) ?? "jsonl";
            if (!f.Equals("jsonl", StringComparison.OrdinalIgnoreCase))
            {
                throw new UserException($"--format must be jsonl, got \"{f}\"");
            }
            using AuditStore store = Open(p.GetValue(file));
            using Stream stdout = Console.OpenStandardOutput();
            using var writer = new Utf8JsonWriter(stdout);
            foreach (AuditRecord r in store.Query(new AuditQuery { Since = ParseSince(p.GetValue(exportSince)) }))
            {
                WriteJson(writer, r);
                writer.Flush();
                stdout.WriteByte((byte)'\n');
                writer.Reset();
            }
            return 0;
        }));

        return new Command("audit", "Read and check the audit log of `cria serve` ($CRIA_HOME/audit.db): one hash-chained record per request.")
        {
            file, list, verify, export,
        };
    }

    private static string KeyPath() => Path.Combine(KeyStore.DefaultDataDirectory(), AuditKey.FileName);

    private static AuditStore Open(string? file) =>
        AuditStore.Open(file ?? Path.Combine(KeyStore.DefaultDataDirectory(), AuditStore.FileName), key: null, create: false);

    private static string Describe(AuditRecord r) => r.Kind switch
    {
        AuditKinds.Checkpoint => string.Create(CultureInfo.InvariantCulture, $"checkpoint: pruned {r.PrunedCount} records through {r.PrunedThrough}"),
        AuditKinds.Gap => string.Create(CultureInfo.InvariantCulture, $"gap: {r.Dropped} records dropped"),
        _ => $"{r.Method} {r.Route}",
    };

    /// <summary>"24h" / "7d" ago, or a UTC date or date-time.</summary>
    internal static DateTimeOffset? ParseSince(string? text)
    {
        if (text is null)
        {
            return null;
        }
        if (AuditOptions.ParseDuration(text) is { } ago)
        {
            return DateTimeOffset.UtcNow - ago;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset when))
        {
            return when;
        }
        throw new UserException($"--since must be a duration such as 24h or 7d, or a date such as 2026-01-31, got \"{text}\"");
    }

    private static void WriteJson(Utf8JsonWriter w, AuditRecord r)
    {
        w.WriteStartObject();
        w.WriteNumber("id", r.Id);
        w.WriteString("kind", r.Kind);
        w.WriteNumber("time_ms", r.TimeMs);
        w.WriteString("time", r.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("key", r.Key);
        w.WriteString("method", r.Method);
        w.WriteString("route", r.Route);
        w.WriteNumber("status", r.Status);
        WriteOptional(w, "model", r.Model);
        WriteOptional(w, "adapters", r.Adapters);
        w.WriteNumber("prompt_tokens", r.PromptTokens);
        w.WriteNumber("completion_tokens", r.CompletionTokens);
        w.WriteNumber("latency_us", r.LatencyMicroseconds);
        WriteOptional(w, "finish_reason", r.FinishReason);
        w.WritePropertyName("findings");
        try
        {
            using JsonDocument findings = JsonDocument.Parse(r.FindingsJson);
            findings.RootElement.WriteTo(w);
        }
        catch (JsonException)
        {
            w.WriteStringValue(r.FindingsJson); // a damaged row: exported as it is, for `verify` to name
        }
        w.WriteString("findings_json", r.FindingsJson);
        w.WriteString("actions", r.Actions);
        WriteOptional(w, "prompt_sha256", r.PromptSha256);
        WriteOptional(w, "output_sha256", r.OutputSha256);
        WriteOptional(w, "prompt_text", r.PromptText);
        WriteOptional(w, "output_text", r.OutputText);
        WriteOptional(w, "pruned_through", r.PrunedThrough);
        WriteOptional(w, "pruned_count", r.PrunedCount);
        WriteOptional(w, "pruned_hash", r.PrunedHash);
        WriteOptional(w, "dropped", r.Dropped);
        WriteOptional(w, "signature", r.Signature);
        w.WriteString("prev_hash", r.PrevHash);
        w.WriteString("hash", r.Hash);
        w.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
