using System.Net;
using System.Security.Cryptography.X509Certificates;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Cria.Hosting;

/// <summary>
/// The one address a Cria web app (<c>cria serve</c>, <c>cria hub serve</c>) listens on: an IP address or
/// <c>localhost</c> (both loopback addresses), and a port (0: one the OS picks). Any other host is refused.
/// </summary>
public static class ListenAddress
{
    /// <summary>
    /// Binds <paramref name="kestrel"/> to <paramref name="host"/> and <paramref name="port"/>, over HTTPS with
    /// <paramref name="certificate"/> when one is given (Kestrel's own TLS), plain HTTP otherwise.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="host"/> is neither an IP address nor <c>localhost</c>.</exception>
    public static void Listen(KestrelServerOptions kestrel, string host, int port, X509Certificate2? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        Action<ListenOptions> https = listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        };
        if (IPAddress.TryParse(host, out IPAddress? address))
        {
            kestrel.Listen(address, port, https);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(port, https);
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
