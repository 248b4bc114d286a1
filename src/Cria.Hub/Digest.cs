using System.Security.Cryptography;

namespace Cria.Hub;

/// <summary>
/// A SHA-256 content digest: <c>sha256:</c> and 64 lowercase hex digits, the form Docker/OCI
/// manifests and registries use; its blob file is named <c>sha256-</c> and the same digits (the
/// colon is not portable in file names). Nothing else is accepted, so a digest can never name a
/// path outside the blob directory.
/// </summary>
public sealed class Digest : IEquatable<Digest>
{
    public const string Prefix = "sha256:";
    public const string FilePrefix = "sha256-";
    public const int HexLength = 64;

    private Digest(string hex) => Hex = hex;

    /// <summary>The 64 lowercase hex digits.</summary>
    public string Hex { get; }

    /// <summary>The blob's file name in the store: <c>sha256-&lt;hex&gt;</c>.</summary>
    public string FileName => FilePrefix + Hex;

    /// <summary>The first 12 hex digits, the short ID <c>cria list</c> prints (like Ollama's and Docker's).</summary>
    public string ShortId => Hex[..12];

    /// <summary>Parses <c>sha256:&lt;64 lowercase hex&gt;</c>.</summary>
    /// <exception cref="HubException">Anything else; the message says what is wrong.</exception>
    public static Digest Parse(string text) =>
        TryParse(text, out Digest? d, out string? error) ? d : throw new HubException(error);

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Digest? digest) =>
        TryParse(text, out digest, out _);

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Digest? digest,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error) =>
        TryParseWith(text, Prefix, out digest, out error);

    /// <summary>Parses a blob file name, <c>sha256-&lt;64 lowercase hex&gt;</c>.</summary>
    public static bool TryParseFileName(string? fileName, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Digest? digest) =>
        TryParseWith(fileName, FilePrefix, out digest, out _);

    /// <summary>The digest of a finished SHA-256 hash (32 bytes).</summary>
    public static Digest FromHash(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException($"a SHA-256 hash is {SHA256.HashSizeInBytes} bytes, got {sha256.Length}", nameof(sha256));
        }
        return new Digest(Convert.ToHexStringLower(sha256));
    }

    /// <summary>The digest of some bytes.</summary>
    public static Digest Of(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));

    public override string ToString() => Prefix + Hex;

    public bool Equals(Digest? other) => other is not null && string.Equals(Hex, other.Hex, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Digest d && Equals(d);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Hex);

    public static bool operator ==(Digest? a, Digest? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(Digest? a, Digest? b) => !(a == b);

    private static bool TryParseWith(string? text, string prefix, out Digest? digest, out string? error)
    {
        digest = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "empty digest; expected sha256: and 64 lowercase hex digits";
            return false;
        }
        string shown = text.Length > 80 ? text[..80] + "…" : text;
        if (!text.StartsWith(prefix, StringComparison.Ordinal))
        {
            error = $"digest \"{Printable(shown)}\" must start with \"{prefix}\" (only SHA-256 digests are accepted)";
            return false;
        }
        if (text.Length != prefix.Length + HexLength)
        {
            error = $"digest \"{Printable(shown)}\" must have exactly {HexLength} hex digits after \"{prefix}\", it has {text.Length - prefix.Length} characters";
            return false;
        }
        for (int i = prefix.Length; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                error = $"digest \"{Printable(shown)}\" has '{Printable(c.ToString())}' at position {i}; only lowercase hex digits 0-9a-f are allowed";
                return false;
            }
        }
        digest = new Digest(text[prefix.Length..]);
        error = null;
        return true;
    }

    /// <summary>Shows control characters as \uXXXX so an error message stays one printable line.</summary>
    internal static string Printable(string s)
    {
        if (!s.Any(char.IsControl))
        {
            return s;
        }
        var b = new System.Text.StringBuilder(s.Length + 8);
        foreach (char c in s)
        {
            if (char.IsControl(c))
            {
                b.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                b.Append(c);
            }
        }
        return b.ToString();
    }
}
