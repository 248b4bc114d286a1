using Cria.Server;

namespace Cria.Cli.Tests;

/// <summary>
/// The limits and transport options of <c>cria serve</c> and <c>cria hub serve</c> through the real
/// binary: listed with their defaults in <c>--help</c>, bad values and files refused with a clear
/// message before anything listens, and the hub refusing tokens over plain HTTP beyond loopback.
/// </summary>
public sealed class HardeningCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-hardencli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliRunner.Result Cria(params string[] args) => CliRunner.RunWith(null, new Dictionary<string, string> { ["CRIA_HOME"] = _dir }, args);

    [Fact]
    public void Serve_help_lists_every_limit_with_its_default()
    {
        CliRunner.Result help = Cria("serve", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach ((string option, string? defaultValue) in new (string, string?)[]
        {
            ("--max-body", "1M"), ("--max-tokens", "0"), ("--rate-limit", null), ("--parallel", "1"),
            ("--header-timeout", "10s"), ("--keep-alive-timeout", "60s"), ("--min-body-rate", "240"), ("--max-header-bytes", "32K"),
            ("--max-connections", "1024"), ("--max-upgraded-connections", "64"), ("--tls-cert", null), ("--tls-key", null),
        })
        {
            // The option's own line: its names (aliases first, as "-np, --parallel <parallel>") before the description.
            string? line = help.Stdout.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith('-')
                && l.TrimStart().Split("  ")[0].Split(", ").Any(name => name == option || name.StartsWith(option + " ", StringComparison.Ordinal)));
            Assert.True(line is not null, $"{option} is not in cria serve --help:\n{help.Stdout}");
            if (defaultValue is not null)
            {
                // System.CommandLine may wrap a description; the default closes the option's text.
                string text = string.Join(' ', help.Stdout[help.Stdout.IndexOf(line, StringComparison.Ordinal)..].Split('\n').Take(4));
                Assert.Contains($"[default: {defaultValue}]", text, StringComparison.Ordinal);
            }
        }
        CliRunner.Result hub = Cria("hub", "serve", "--help");
        foreach (string option in new[] { "--tls-cert", "--tls-key", "--insecure", "--header-timeout", "--max-connections" })
        {
            Assert.Contains(option, hub.Stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--tls-cert", "missing.pem", "--tls-key needs --tls-cert|--tls-cert needs --tls-key")]
    [InlineData("--rate-limit", "5/hour", "--rate-limit must be a number of requests such as 60/min or 5/s")]
    [InlineData("--header-timeout", "0", "--header-timeout must be a positive duration")]
    [InlineData("--max-connections", "-1", "--max-connections must be ≥ 0")]
    [InlineData("--max-body", "12", "--max-body must be at least 1024 bytes")]
    [InlineData("--max-tokens", "-5", "--max-tokens must be ≥ 0")]
    public void Bad_limit_values_are_refused_before_listening(string option, string value, string message)
    {
        CliRunner.Result result = Cria("serve", "--port", "0", option, value);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message.Split('|'), m => result.Stderr.Contains(m, StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_tls_files_are_refused_naming_the_file()
    {
        string missing = Path.Combine(_dir, "missing.pem");
        CliRunner.Result result = Cria("serve", "--port", "0", "--tls-cert", missing, "--tls-key", missing);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"--tls-cert {missing}: file not found", result.Stderr, StringComparison.Ordinal);
        CliRunner.Result hub = Cria("hub", "serve", "--port", "0", "--tls-cert", missing, "--tls-key", missing);
        Assert.NotEqual(0, hub.ExitCode);
        Assert.Contains("file not found", hub.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_hub_refuses_tokens_over_plain_http_beyond_loopback_without_insecure()
    {
        CliRunner.Result result = Cria("hub", "serve", "--host", "0.0.0.0", "--port", "0", "--push-token", "cli-push-token-0123456789");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("plain HTTP", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--insecure", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("cli-push-token-0123456789", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_exposed_server_warns_without_keys_or_without_tls()
    {
        Assert.Empty(ServeCommand.Warnings(new ServerOptions { Host = "127.0.0.1", RequireKey = false }));
        Assert.Contains("without API keys", Assert.Single(ServeCommand.Warnings(new ServerOptions { Host = "0.0.0.0", RequireKey = false })), StringComparison.Ordinal);
        Assert.Contains("plain HTTP", Assert.Single(ServeCommand.Warnings(new ServerOptions { Host = "0.0.0.0" })), StringComparison.Ordinal);
        Assert.Empty(ServeCommand.Warnings(new ServerOptions { Host = "0.0.0.0", Tls = new Hosting.TlsFiles("c.pem", "k.pem") }));
    }

    [Theory]
    [InlineData("60/min", 60)]
    [InlineData("60/m", 60)]
    [InlineData("5/s", 300)]
    [InlineData("10", 10)]
    public void Rate_limits_read_as_requests_per_minute(string text, int perMinute) => Assert.Equal(perMinute, ServeCommand.ParseRate(text));
}
