using System.Security.Cryptography;
using System.Text;

using Microsoft.Data.Sqlite;

namespace Cria.Server.Auth;

/// <summary>
/// API keys in SQLite (<c>keys.db</c> under the data directory). Invariant: the database holds only
/// SHA-256 hashes of secrets — a secret exists in clear once, in the return value of
/// <see cref="Create"/> — and names are unique; a revoked key stays listed but never authenticates.
/// Every lookup reads the database, so a key revoked by <c>cria keys revoke</c> in another process
/// is refused at its next request.
/// </summary>
public sealed class KeyStore
{
    /// <summary>What every secret starts with, so a leaked one is recognizable (as OpenAI's <c>sk-</c>).</summary>
    public const string SecretPrefix = "cria-";

    private readonly string _connectionString;

    public KeyStore(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        Directory.CreateDirectory(dataDirectory);
        DatabasePath = Path.Combine(dataDirectory, "keys.db");
        _connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString();
        using SqliteConnection db = Open();
        Execute(db, """
            CREATE TABLE IF NOT EXISTS api_keys (
                name TEXT PRIMARY KEY NOT NULL,
                hash TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                rpm INTEGER NOT NULL,
                tpm INTEGER NOT NULL,
                models TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                revoked_at INTEGER NULL)
            """);
    }

    public string DatabasePath { get; }

    /// <summary><c>$CRIA_HOME</c>, else <c>~/.cria</c>.</summary>
    public static string DefaultDataDirectory()
    {
        string? home = Environment.GetEnvironmentVariable("CRIA_HOME");
        return !string.IsNullOrEmpty(home)
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cria");
    }

    /// <summary>Creates a key and returns it with its secret, which is not stored and cannot be shown again.</summary>
    /// <exception cref="ArgumentException">A bad name or limit, or the name is taken.</exception>
    public (ApiKey Key, string Secret) Create(string name, int requestsPerMinute = 0, int tokensPerMinute = 0, IReadOnlyList<string>? models = null)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name.Any(char.IsControl))
        {
            throw new ArgumentException($"a key name must be 1 to 64 printable characters, got \"{name}\"");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(requestsPerMinute);
        ArgumentOutOfRangeException.ThrowIfNegative(tokensPerMinute);
        string[] allowed = [.. (models ?? []).Select(m => m.Trim()).Where(m => m.Length > 0)];
        string secret = SecretPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var key = new ApiKey(name, secret[..(SecretPrefix.Length + 6)], requestsPerMinute, tokensPerMinute, allowed,
            DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()), null);
        using SqliteConnection db = Open();
        using SqliteCommand insert = db.CreateCommand();
        insert.CommandText = "INSERT INTO api_keys (name, hash, prefix, rpm, tpm, models, created_at) VALUES ($name, $hash, $prefix, $rpm, $tpm, $models, $created)";
        insert.Parameters.AddWithValue("$name", name);
        insert.Parameters.AddWithValue("$hash", Hash(secret));
        insert.Parameters.AddWithValue("$prefix", key.Prefix);
        insert.Parameters.AddWithValue("$rpm", requestsPerMinute);
        insert.Parameters.AddWithValue("$tpm", tokensPerMinute);
        insert.Parameters.AddWithValue("$models", string.Join(',', allowed));
        insert.Parameters.AddWithValue("$created", key.CreatedAt.ToUnixTimeSeconds());
        try
        {
            insert.ExecuteNonQuery();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: the name exists
        {
            throw new ArgumentException($"a key named \"{name}\" already exists", e);
        }
        return (key, secret);
    }

    /// <summary>Every key, revoked ones included, oldest first.</summary>
    public IReadOnlyList<ApiKey> List()
    {
        using SqliteConnection db = Open();
        using SqliteCommand select = db.CreateCommand();
        select.CommandText = "SELECT name, prefix, rpm, tpm, models, created_at, revoked_at FROM api_keys ORDER BY created_at, name";
        using SqliteDataReader reader = select.ExecuteReader();
        var keys = new List<ApiKey>();
        while (reader.Read())
        {
            keys.Add(Read(reader));
        }
        return keys;
    }

    /// <summary>Revokes the key named <paramref name="name"/>; false when there is no such key (or it was already revoked).</summary>
    public bool Revoke(string name)
    {
        using SqliteConnection db = Open();
        using SqliteCommand update = db.CreateCommand();
        update.CommandText = "UPDATE api_keys SET revoked_at = $now WHERE name = $name AND revoked_at IS NULL";
        update.Parameters.AddWithValue("$name", name);
        update.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        return update.ExecuteNonQuery() == 1;
    }

    /// <summary>The live (not revoked) key whose secret is <paramref name="secret"/>, or null.</summary>
    public ApiKey? Authenticate(string secret)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal) || secret.Length > 256)
        {
            return null;
        }
        using SqliteConnection db = Open();
        using SqliteCommand select = db.CreateCommand();
        select.CommandText = "SELECT name, prefix, rpm, tpm, models, created_at, revoked_at FROM api_keys WHERE hash = $hash AND revoked_at IS NULL";
        select.Parameters.AddWithValue("$hash", Hash(secret));
        using SqliteDataReader reader = select.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    private static ApiKey Read(SqliteDataReader r)
    {
        string models = r.GetString(4);
        return new ApiKey(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3),
            models.Length == 0 ? [] : models.Split(','),
            DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(5)),
            r.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(6)));
    }

    /// <summary>
    /// SHA-256 of the secret, hex. A plain hash is enough (no salt or slow KDF): the secret is 256 random
    /// bits, so there is no dictionary to attack.
    /// </summary>
    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private SqliteConnection Open()
    {
        var db = new SqliteConnection(_connectionString);
        db.Open();
        return db;
    }

    private static void Execute(SqliteConnection db, string sql)
    {
        using SqliteCommand command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
