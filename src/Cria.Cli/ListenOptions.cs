using System.CommandLine;
using System.Globalization;

using Cria.Hosting;
using Cria.Server;

namespace Cria.Cli;

/// <summary>The TLS and connection-limit options <c>cria serve</c> and <c>cria hub serve</c> share, with their defaults.</summary>
internal sealed class ListenOptions
{
    private static readonly ConnectionLimits s_defaults = new();

    private readonly Option<string?> _tlsCert = new("--tls-cert") { Description = "serve HTTPS with this PEM certificate (its chain may follow it); needs --tls-key" };
    private readonly Option<string?> _tlsKey = new("--tls-key") { Description = "the PEM private key of --tls-cert" };
    private readonly Option<string> _headerTimeout = new("--header-timeout")
    {
        Description = "longest a client may take to send a request's headers (cuts off slowloris clients): 10s, 1m",
        DefaultValueFactory = _ => Seconds(s_defaults.RequestHeadersTimeout),
    };
    private readonly Option<string> _keepAliveTimeout = new("--keep-alive-timeout")
    {
        Description = "how long an idle keep-alive connection stays open: 60s, 2m",
        DefaultValueFactory = _ => Seconds(s_defaults.KeepAliveTimeout),
    };
    private readonly Option<double> _minBodyRate = new("--min-body-rate")
    {
        Description = "slowest request body accepted, in bytes per second after a 5 s grace period (0: no minimum)",
        DefaultValueFactory = _ => s_defaults.MinRequestBodyBytesPerSecond,
    };
    private readonly Option<string> _maxHeaderBytes = new("--max-header-bytes")
    {
        Description = "largest request line plus headers: 32K, 64K",
        DefaultValueFactory = _ => $"{s_defaults.MaxRequestHeadersBytes >> 10}K",
    };
    private readonly Option<long> _maxConnections = new("--max-connections")
    {
        Description = "connections open at once; one more is closed as soon as it is accepted (0: no limit)",
        DefaultValueFactory = _ => s_defaults.MaxConnections,
    };
    private readonly Option<long> _maxUpgraded = new("--max-upgraded-connections")
    {
        Description = "upgraded (WebSocket) connections open at once (0: no limit)",
        DefaultValueFactory = _ => s_defaults.MaxUpgradedConnections,
    };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _tlsCert, _tlsKey, _headerTimeout, _keepAliveTimeout, _minBodyRate, _maxHeaderBytes, _maxConnections, _maxUpgraded })
        {
            command.Options.Add(option);
        }
    }

    public TlsFiles? Tls(ParseResult p)
    {
        try
        {
            return TlsFiles.From(p.GetValue(_tlsCert), p.GetValue(_tlsKey));
        }
        catch (ArgumentException e)
        {
            throw new UserException(e.Message);
        }
    }

    public ConnectionLimits Limits(ParseResult p)
    {
        long headerBytes = CommonOptions.ParseSize(p.GetValue(_maxHeaderBytes) ?? "32K", "--max-header-bytes");
        var limits = new ConnectionLimits
        {
            RequestHeadersTimeout = Duration(p.GetValue(_headerTimeout), "--header-timeout"),
            KeepAliveTimeout = Duration(p.GetValue(_keepAliveTimeout), "--keep-alive-timeout"),
            MinRequestBodyBytesPerSecond = p.GetValue(_minBodyRate),
            MaxRequestHeadersBytes = headerBytes <= int.MaxValue ? (int)headerBytes : int.MaxValue,
            MaxConnections = p.GetValue(_maxConnections),
            MaxUpgradedConnections = p.GetValue(_maxUpgraded),
        };
        try
        {
            limits.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UserException(e.Message);
        }
        return limits;
    }

    private static TimeSpan Duration(string? text, string option) =>
        text is not null && ServerOptions.ParseKeepAlive(text) is { } value && value > TimeSpan.Zero
            ? value
            : throw new UserException($"{option} must be a positive duration such as 10s, 1m or 30 (seconds), got \"{text}\"");

    private static string Seconds(TimeSpan value) => ((int)value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
}
