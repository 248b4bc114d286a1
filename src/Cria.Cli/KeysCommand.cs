using System.CommandLine;
using System.Globalization;

using Cria.Server.Auth;

using Spectre.Console;

namespace Cria.Cli;

/// <summary>
/// <c>cria keys create|list|revoke</c>: API keys for <c>cria serve --require-key</c>, kept hashed in
/// <c>keys.db</c> under <c>$CRIA_HOME</c> (default <c>~/.cria</c>). A new key's secret is printed once.
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var createName = new Argument<string>("name") { Description = "a name for the key (unique)" };
        var rpm = new Option<int>("--rpm") { Description = "requests per minute allowed (0: no limit)" };
        var tpm = new Option<int>("--tpm") { Description = "tokens (prompt + generated) per minute allowed (0: no limit)" };
        var models = new Option<string?>("--models") { Description = "comma-separated models the key may use (default: all)" };
        var create = new Command("create", "Create a key and print its secret (shown only this once).") { createName, rpm, tpm, models };
        create.SetAction(p => CliErrors.Run(() =>
        {
            int requests = p.GetValue(rpm);
            int tokens = p.GetValue(tpm);
            if (requests < 0 || tokens < 0)
            {
                throw new UserException("--rpm and --tpm must be ≥ 0");
            }
            string[] allowed = (p.GetValue(models) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var store = new KeyStore(KeyStore.DefaultDataDirectory());
            (ApiKey key, string secret) = store.Create(p.GetValue(createName)!, requests, tokens, allowed);
            Console.Error.WriteLine($"cria: created key \"{key.Name}\" ({Limits(key)}) in {store.DatabasePath}; save it now, it cannot be shown again:");
            Console.WriteLine(secret);
            return 0;
        }));

        var list = new Command("list", "List the keys (names, limits, status; never the secrets).");
        list.SetAction(p => CliErrors.Run(() =>
        {
            var store = new KeyStore(KeyStore.DefaultDataDirectory());
            IReadOnlyList<ApiKey> keys = store.List();
            if (keys.Count == 0)
            {
                Console.Error.WriteLine($"cria: no keys in {store.DatabasePath}; make one with `cria keys create NAME`");
                return 0;
            }
            var table = new Table().Border(TableBorder.Simple)
                .AddColumn("name").AddColumn("key").AddColumn(new TableColumn("rpm").RightAligned()).AddColumn(new TableColumn("tpm").RightAligned())
                .AddColumn("models").AddColumn("created").AddColumn("status");
            foreach (ApiKey key in keys)
            {
                table.AddRow(
                    Markup.Escape(key.Name),
                    Markup.Escape(key.Prefix + "…"),
                    key.RequestsPerMinute > 0 ? key.RequestsPerMinute.ToString(CultureInfo.InvariantCulture) : "-",
                    key.TokensPerMinute > 0 ? key.TokensPerMinute.ToString(CultureInfo.InvariantCulture) : "-",
                    Markup.Escape(key.Models.Count > 0 ? string.Join(",", key.Models) : "all"),
                    key.CreatedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    key.RevokedAt is { } revoked ? $"revoked {revoked.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}" : "active");
            }
            AnsiConsole.Console.Write(table);
            return 0;
        }));

        var revokeName = new Argument<string>("name") { Description = "the key to revoke" };
        var revoke = new Command("revoke", "Revoke a key: the server refuses it from its next request on.") { revokeName };
        revoke.SetAction(p => CliErrors.Run(() =>
        {
            string name = p.GetValue(revokeName)!;
            var store = new KeyStore(KeyStore.DefaultDataDirectory());
            if (!store.Revoke(name))
            {
                throw new UserException($"no active key named \"{name}\"");
            }
            Console.Error.WriteLine($"cria: revoked key \"{name}\"");
            return 0;
        }));

        return new Command("keys", "Manage API keys for `cria serve --require-key` (stored hashed under $CRIA_HOME, default ~/.cria).")
        {
            create, list, revoke,
        };
    }

    private static string Limits(ApiKey key) =>
        $"{(key.RequestsPerMinute > 0 ? $"{key.RequestsPerMinute} requests" : "unlimited requests")}, "
        + $"{(key.TokensPerMinute > 0 ? $"{key.TokensPerMinute} tokens" : "unlimited tokens")} per minute, "
        + $"models: {(key.Models.Count > 0 ? string.Join(",", key.Models) : "all")}";
}
