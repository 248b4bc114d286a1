using System.Net;

namespace Cria.Hub.Remote;

/// <summary>
/// Where pulls and pushes may go. HTTPS everywhere, except that plain HTTP is allowed to loopback hosts
/// (localhost, 127.0.0.0/8, ::1 — the traffic never leaves the machine, which is how a hub on the same
/// host and the tests are reached) and, with <c>--insecure</c>, to any host. A registry host without
/// a scheme gets <c>http://</c> in those two cases and <c>https://</c> otherwise.
/// </summary>
internal static class RemoteAddress
{
    /// <summary>The base URL (<c>scheme://host[:port]/</c>) of a registry named by a model name's host part.</summary>
    public static Uri RegistryBase(string host, bool insecure)
    {
        string hostName = host.Contains(':', StringComparison.Ordinal) ? host[..host.LastIndexOf(':')] : host;
        string scheme = insecure || IsLoopback(hostName) ? "http" : "https";
        return new Uri($"{scheme}://{host}/");
    }

    /// <summary>Parses an endpoint URL (<c>--hf-endpoint</c>, <c>HF_ENDPOINT</c>): absolute http(s), no query or fragment.</summary>
    public static Uri ParseEndpoint(string text, bool insecure, string what)
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https")
            || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw new HubException($"{what} must be an http(s) URL such as https://huggingface.co, got \"{Digest.Printable(text)}\"");
        }
        Check(uri, insecure);
        string s = uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return new Uri(s + "/");
    }

    /// <summary>Throws unless the URL is HTTPS, or HTTP to a loopback host or with <paramref name="insecure"/>.</summary>
    public static void Check(Uri uri, bool insecure)
    {
        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return;
        }
        if (uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new HubException($"refusing {Show(uri)}: only http and https URLs are fetched");
        }
        if (!insecure && !IsLoopback(uri.Host))
        {
            throw new HubException($"refusing plain http to {uri.Authority}: use https, or --insecure if you trust the network");
        }
    }

    public static bool IsLoopback(string host)
    {
        string h = host.Trim('[', ']');
        return string.Equals(h, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(h, out IPAddress? ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>A URL for messages: scheme, host and path, without the query (signed download URLs carry credentials there).</summary>
    public static string Show(Uri uri) => uri.IsAbsoluteUri ? uri.GetLeftPart(UriPartial.Path) : uri.ToString();

    /// <summary>Whether two URLs have the same scheme, host and port (a token is sent only to its own origin).</summary>
    public static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    /// <summary>Escapes each '/'-separated segment of a path for a URL.</summary>
    public static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
}
