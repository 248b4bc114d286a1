using System.Reflection;

namespace Cria.Server;

/// <summary>Names and versions the server reports about itself.</summary>
internal static class ServerInfo
{
    public static string Version { get; } =
        typeof(ServerInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>OpenAI's <c>system_fingerprint</c>: the backend configuration that produced a response.</summary>
    public static string SystemFingerprint { get; } = "cria-" + Version;

    /// <summary>
    /// The Ollama API version <c>/api/version</c> reports: the release whose routes and fields Cria's
    /// Ollama dialect follows. Ollama clients compare it to decide which features to use.
    /// </summary>
    public const string OllamaApiVersion = "0.12.0";

    public static long UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A random id such as <c>chatcmpl-5f1c…</c> (24 hex digits after the prefix).</summary>
    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 12));
}
