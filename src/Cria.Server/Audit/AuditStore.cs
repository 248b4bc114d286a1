using System.Globalization;

using Microsoft.Data.Sqlite;

namespace Cria.Server.Audit;

/// <summary>
/// The audit log in SQLite (<c>audit.db</c>, WAL). Invariants: ids are contiguous from 1 (pruning
/// removes only a prefix, behind a checkpoint); every record's <c>prev_hash</c> is the hash of the
/// record with the id before it (or of the last pruned record, or <see cref="AuditChain.Genesis"/>);
/// <c>audit_head</c> names the last record written and is signed, updated in the same transaction as
/// the records. Appends take SQLite's write lock (<c>BEGIN IMMEDIATE</c>) and chain from the signed
/// head read inside it, so several writers — two servers on one file — interleave whole batches and
/// the chain stays one chain. One instance is used by one thread at a time.
/// </summary>
public sealed class AuditStore : IDisposable
{
    public const string FileName = "audit.db";

    private const int FormatVersion = 1;

    internal const string Columns = "id, kind, time_ms, key, method, route, status, model, adapters, prompt_tokens, completion_tokens, latency_us, finish, " +
        "findings, actions, prompt_sha256, output_sha256, prompt_text, output_text, pruned_through, pruned_count, pruned_hash, dropped, signature, prev_hash, hash";

    private readonly SqliteConnection _db;
    private readonly byte[]? _key;

    private AuditStore(string path, SqliteConnection db, byte[]? key)
    {
        Path = path;
        _db = db;
        _key = key;
    }

    public string Path { get; }

    /// <summary>
    /// Opens (creating when <paramref name="create"/>) the log at <paramref name="path"/>. A file that
    /// is not SQLite, or a database that is not a Cria audit log, is an <see cref="InvalidDataException"/>
    /// naming the file; a missing file when not creating is a <see cref="FileNotFoundException"/>.
    /// </summary>
    /// <param name="key">The HMAC key; required to append or prune, optional to read.</param>
    public static AuditStore Open(string path, byte[]? key, bool create)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!create && !File.Exists(path))
        {
            throw new FileNotFoundException($"no audit log at {path} (it is written by `cria serve`; --audit FILE names another)", path);
        }
        if (create)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
            CreateOwnerOnly(path);
        }
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 10,
        };
        var db = new SqliteConnection(builder.ToString());
        try
        {
            db.Open();
            Execute(db, "PRAGMA busy_timeout = 10000");
            long version = Scalar<long>(db, "PRAGMA user_version");
            bool empty = Scalar<long>(db, "SELECT count(*) FROM sqlite_master") == 0;
            if (version == 0 && empty && create)
            {
                Execute(db, "PRAGMA journal_mode = WAL");
                CreateSchema(db);
            }
            else if (version != FormatVersion || !HasTable(db, "audit") || !HasTable(db, "audit_head"))
            {
                throw new InvalidDataException($"{path} is not a Cria audit log (format version {version}, expected {FormatVersion}, with tables audit and audit_head)");
            }
            Execute(db, "PRAGMA synchronous = FULL");
            return new AuditStore(path, db, key);
        }
        catch (SqliteException e)
        {
            db.Dispose();
            throw new InvalidDataException($"{path} cannot be read as an audit log: {e.Message}", e);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>A new log is readable by its owner only (SQLite gives its -wal and -shm files the same mode): it names keys, routes and, with --audit-text, prompts.</summary>
    private static void CreateOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }
        try
        {
            using var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // another process made it first
        }
    }

    private static void CreateSchema(SqliteConnection db)
    {
        using SqliteTransaction tx = db.BeginTransaction();
        Execute(db, """
            CREATE TABLE IF NOT EXISTS audit (
                id INTEGER PRIMARY KEY NOT NULL,
                kind TEXT NOT NULL,
                time_ms INTEGER NOT NULL,
                key TEXT NOT NULL,
                method TEXT NOT NULL,
                route TEXT NOT NULL,
                status INTEGER NOT NULL,
                model TEXT NULL,
                adapters TEXT NULL,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                latency_us INTEGER NOT NULL,
                finish TEXT NULL,
                findings TEXT NOT NULL,
                actions TEXT NOT NULL,
                prompt_sha256 TEXT NULL,
                output_sha256 TEXT NULL,
                prompt_text TEXT NULL,
                output_text TEXT NULL,
                pruned_through INTEGER NULL,
                pruned_count INTEGER NULL,
                pruned_hash TEXT NULL,
                dropped INTEGER NULL,
                signature TEXT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL)
            """, tx);
        Execute(db, "CREATE INDEX IF NOT EXISTS audit_time ON audit (time_ms)", tx);
        Execute(db, "CREATE TABLE IF NOT EXISTS audit_head (one INTEGER PRIMARY KEY CHECK (one = 1), last_id INTEGER NOT NULL, last_hash TEXT NOT NULL, mac TEXT NOT NULL)", tx);
        Execute(db, $"PRAGMA user_version = {FormatVersion}", tx);
        tx.Commit();
    }

    /// <summary>The signed head: the last record written (null when nothing was ever written).</summary>
    public (long LastId, string LastHash, string Mac)? ReadHead()
    {
        using SqliteCommand select = _db.CreateCommand();
        select.CommandText = "SELECT last_id, last_hash, mac FROM audit_head WHERE one = 1";
        using SqliteDataReader r = select.ExecuteReader();
        if (!r.Read())
        {
            return null;
        }
        return (AuditRows.Integer(r, 0, "last_id") ?? 0, AuditRows.Text(r, 1, "last_hash") ?? "", AuditRows.Text(r, 2, "mac") ?? "");
    }

    /// <summary>Checks the head's signature (a server refuses to go on writing a log whose head was forged).</summary>
    public void CheckHead()
    {
        byte[] key = RequireKey();
        if (ReadHead() is { } head && !AuditChain.MacEquals(head.Mac, AuditChain.SignHead(head.LastId, head.LastHash, key)))
        {
            throw new InvalidDataException($"{Path}: the signed head (record {head.LastId}) does not verify with the audit key: the log was altered or the key is not the one it was written with; run `cria audit verify`, and move the file away to start a new log");
        }
    }

    /// <summary>Appends the records in one transaction, chaining them after the head; returns them as stored (ids and hashes set).</summary>
    public IReadOnlyList<AuditRecord> Append(IReadOnlyList<AuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        byte[] key = RequireKey();
        if (records.Count == 0)
        {
            return [];
        }
        using SqliteTransaction tx = _db.BeginTransaction(deferred: false);
        (long lastId, string lastHash) = Tip();
        var stored = new List<AuditRecord>(records.Count);
        using SqliteCommand insert = PrepareInsert(tx);
        foreach (AuditRecord record in records)
        {
            AuditRecord chained = Chain(record, lastId + 1, lastHash, key);
            Insert(insert, chained);
            stored.Add(chained);
            (lastId, lastHash) = (chained.Id, chained.Hash);
        }
        WriteHead(lastId, lastHash, key, tx);
        tx.Commit();
        return stored;
    }

    /// <summary>
    /// Retention: removes the oldest records, up to the first one at or after <paramref name="cutoff"/>,
    /// and appends a signed checkpoint naming the last one removed; returns how many were removed.
    /// </summary>
    public long Prune(DateTimeOffset cutoff)
    {
        byte[] key = RequireKey();
        using SqliteTransaction tx = _db.BeginTransaction(deferred: false);
        long cutoffMs = cutoff.ToUnixTimeMilliseconds();
        long first = ScalarOrNull(tx, "SELECT min(id) FROM audit") ?? 0;
        long? keptFrom = ScalarOrNull(tx, "SELECT min(id) FROM audit WHERE time_ms >= $t", ("$t", cutoffMs));
        (long lastId, string lastHash) = Tip();
        long through = keptFrom is { } k ? k - 1 : lastId;
        if (first == 0 || through < first)
        {
            return 0;
        }
        string prunedHash = ScalarText(tx, "SELECT hash FROM audit WHERE id = $id", ("$id", through))
            ?? throw new InvalidDataException($"{Path}: record {through} is missing; run `cria audit verify`");
        using (SqliteCommand delete = _db.CreateCommand())
        {
            delete.Transaction = tx;
            delete.CommandText = "DELETE FROM audit WHERE id <= $id";
            delete.Parameters.AddWithValue("$id", through);
            delete.ExecuteNonQuery();
        }
        long removed = through - first + 1;
        var checkpoint = new AuditRecord
        {
            Kind = AuditKinds.Checkpoint,
            TimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Method = "",
            Route = "",
            PrunedThrough = through,
            PrunedCount = removed,
            PrunedHash = prunedHash,
        };
        AuditRecord chained = Chain(checkpoint, lastId + 1, lastHash, key);
        using (SqliteCommand insert = PrepareInsert(tx))
        {
            Insert(insert, chained);
        }
        WriteHead(chained.Id, chained.Hash, key, tx);
        tx.Commit();
        return removed;
    }

    /// <summary>Records in id order, with optional filters; a limit keeps the newest.</summary>
    public IEnumerable<AuditRecord> Query(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        using SqliteCommand select = _db.CreateCommand();
        var where = new List<string>();
        if (query.Since is { } since)
        {
            where.Add("time_ms >= $since");
            select.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        }
        if (query.Key is not null)
        {
            where.Add("key = $key");
            select.Parameters.AddWithValue("$key", query.Key);
        }
        if (query.Model is not null)
        {
            where.Add("model = $model COLLATE NOCASE");
            select.Parameters.AddWithValue("$model", query.Model);
        }
        if (query.Action is not null)
        {
            where.Add("(',' || actions || ',') LIKE $action");
            select.Parameters.AddWithValue("$action", "%," + query.Action + ",%");
        }
        string filter = where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "";
        select.CommandText = query.Limit is { } limit
            ? $"SELECT * FROM (SELECT {Columns} FROM audit{filter} ORDER BY id DESC LIMIT {limit.ToString(CultureInfo.InvariantCulture)}) ORDER BY id"
            : $"SELECT {Columns} FROM audit{filter} ORDER BY id";
        using SqliteDataReader r = select.ExecuteReader();
        while (r.Read())
        {
            yield return AuditRows.Read(r);
        }
    }

    /// <summary>Every record in id order, read one at a time (for verify).</summary>
    internal SqliteDataReader ReadAll()
    {
        SqliteCommand select = _db.CreateCommand();
        select.CommandText = $"SELECT {Columns} FROM audit ORDER BY id";
        return select.ExecuteReader(System.Data.CommandBehavior.Default);
    }

    public long Count() => Scalar<long>(_db, "SELECT count(*) FROM audit");

    public void Dispose() => _db.Dispose();

    private byte[] RequireKey() => _key ?? throw new InvalidOperationException("the audit key is needed to write the log");

    private static AuditRecord Chain(AuditRecord record, long id, string prevHash, byte[] key)
    {
        AuditRecord r = record with { Id = id, PrevHash = prevHash, Signature = null, Hash = "" };
        if (r.Kind == AuditKinds.Checkpoint)
        {
            r = r with { Signature = AuditChain.Sign(r, key) };
        }
        return r with { Hash = AuditChain.Hash(r) };
    }

    /// <summary>The last record written: the signed head when there is one (so a truncated tail stays a visible gap), else the table's last row.</summary>
    private (long Id, string Hash) Tip()
    {
        if (ReadHead() is { } head)
        {
            return (head.LastId, head.LastHash);
        }
        using SqliteCommand select = _db.CreateCommand();
        select.CommandText = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";
        using SqliteDataReader r = select.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), r.GetString(1)) : (0, AuditChain.Genesis);
    }

    private void WriteHead(long lastId, string lastHash, byte[] key, SqliteTransaction tx)
    {
        using SqliteCommand upsert = _db.CreateCommand();
        upsert.Transaction = tx;
        upsert.CommandText = "INSERT INTO audit_head (one, last_id, last_hash, mac) VALUES (1, $id, $hash, $mac) " +
            "ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash, mac = excluded.mac";
        upsert.Parameters.AddWithValue("$id", lastId);
        upsert.Parameters.AddWithValue("$hash", lastHash);
        upsert.Parameters.AddWithValue("$mac", AuditChain.SignHead(lastId, lastHash, key));
        upsert.ExecuteNonQuery();
    }

    private static readonly string[] s_insertParameters =
        ["$id", "$kind", "$time", "$key", "$method", "$route", "$status", "$model", "$adapters", "$pt", "$ct", "$lat", "$finish", "$findings", "$actions", "$psha", "$osha", "$ptext", "$otext", "$pthrough", "$pcount", "$phash", "$dropped", "$sig", "$prev", "$hash"];

    /// <summary>One INSERT prepared per transaction; <see cref="Insert"/> binds each record to it.</summary>
    private SqliteCommand PrepareInsert(SqliteTransaction tx)
    {
        SqliteCommand insert = _db.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = $"INSERT INTO audit ({Columns}) VALUES ({string.Join(", ", s_insertParameters)})";
        foreach (string name in s_insertParameters)
        {
            insert.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        insert.Prepare();
        return insert;
    }

    private static void Insert(SqliteCommand insert, AuditRecord r)
    {
        SqliteParameterCollection p = insert.Parameters;
        p[0].Value = r.Id;
        p[1].Value = r.Kind;
        p[2].Value = r.TimeMs;
        p[3].Value = r.Key;
        p[4].Value = r.Method;
        p[5].Value = r.Route;
        p[6].Value = r.Status;
        p[7].Value = (object?)r.Model ?? DBNull.Value;
        p[8].Value = (object?)r.Adapters ?? DBNull.Value;
        p[9].Value = r.PromptTokens;
        p[10].Value = r.CompletionTokens;
        p[11].Value = r.LatencyMicroseconds;
        p[12].Value = (object?)r.FinishReason ?? DBNull.Value;
        p[13].Value = r.FindingsJson;
        p[14].Value = r.Actions;
        p[15].Value = (object?)r.PromptSha256 ?? DBNull.Value;
        p[16].Value = (object?)r.OutputSha256 ?? DBNull.Value;
        p[17].Value = (object?)r.PromptText ?? DBNull.Value;
        p[18].Value = (object?)r.OutputText ?? DBNull.Value;
        p[19].Value = (object?)r.PrunedThrough ?? DBNull.Value;
        p[20].Value = (object?)r.PrunedCount ?? DBNull.Value;
        p[21].Value = (object?)r.PrunedHash ?? DBNull.Value;
        p[22].Value = (object?)r.Dropped ?? DBNull.Value;
        p[23].Value = (object?)r.Signature ?? DBNull.Value;
        p[24].Value = r.PrevHash;
        p[25].Value = r.Hash;
        insert.ExecuteNonQuery();
    }

    private long? ScalarOrNull(SqliteTransaction tx, string sql, params (string Name, object Value)[] parameters)
    {
        using SqliteCommand command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        object? value1 = command.ExecuteScalar();
        return value1 is null or DBNull ? null : Convert.ToInt64(value1, CultureInfo.InvariantCulture);
    }

    private string? ScalarText(SqliteTransaction tx, string sql, params (string Name, object Value)[] parameters)
    {
        using SqliteCommand command = _db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach ((string name, object value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return command.ExecuteScalar() as string;
    }

    private static bool HasTable(SqliteConnection db, string name)
    {
        using SqliteCommand command = db.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $name";
        command.Parameters.AddWithValue("$name", name);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 1;
    }

    private static T Scalar<T>(SqliteConnection db, string sql)
    {
        using SqliteCommand command = db.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection db, string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand command = db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>Filters for <see cref="AuditStore.Query"/>.</summary>
public sealed record AuditQuery
{
    public DateTimeOffset? Since { get; init; }
    public string? Key { get; init; }
    public string? Model { get; init; }
    public string? Action { get; init; }
    public int? Limit { get; init; }
}
