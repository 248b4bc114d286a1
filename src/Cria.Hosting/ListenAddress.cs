using System.Net;

using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Cria.Hosting;

/// <summary>
/// The one address a Cria web app (<c>cria serve</c>, <c>cria hub serve</c>) listens on: an IP address or
/// <c>localhost</c> (both loopback addresses), and a port (0: one the OS picks). Any other host is refused.
/// </summary>
public static class ListenAddress
{
    /// <summary>Binds <paramref name="kestrel"/> to <paramref name="host"/> and <paramref name="port"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="host"/> is neither an IP address nor <c>localhost</c>.</exception>
    public static void Listen(KestrelServerOptions kestrel, string host, int port)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        if (IPAddress.TryParse(host, out IPAddress? address))
        {
            kestrel.Listen(address, port);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port);
        }
        else
        {
            throw new ArgumentException($"--host must be an IP address or localhost, got \"{host}\"");
        }
    }

    /// <summary>Whether <paramref name="host"/> is reachable only from this machine: <c>localhost</c> or a loopback address.</summary>
    public static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host, out IPAddress? address) && IPAddress.IsLoopback(address));
}
