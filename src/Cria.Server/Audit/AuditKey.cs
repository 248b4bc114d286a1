using System.Security.Cryptography;

namespace Cria.Server.Audit;

/// <summary>
/// The audit log's HMAC key: 32 random bytes, hex, in <c>audit.key</c> under <c>$CRIA_HOME</c>,
/// created on first use readable and writable by its owner only (0600). It signs checkpoints and the
/// head. Whoever can read it can forge a log, so it belongs to the account that runs the server;
/// an auditor without it can still check the chain's hashes (<c>cria audit verify</c> says which
/// checks it could not make).
/// </summary>
public static class AuditKey
{
    public const string FileName = "audit.key";

    private const int KeyBytes = 32;

    /// <summary>Reads the key, or creates it when there is none (two servers starting at once agree on one).</summary>
    public static byte[] LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            return Load(path);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        byte[] key = RandomNumberGenerator.GetBytes(KeyBytes);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using var file = new FileStream(path, options);
            using var writer = new StreamWriter(file);
            writer.Write(Convert.ToHexStringLower(key));
        }
        catch (IOException) when (File.Exists(path))
        {
            return Load(path); // another process made it first
        }
        return key;
    }

    /// <summary>Reads an existing key; null when there is none. A damaged file is an <see cref="InvalidDataException"/>.</summary>
    public static byte[]? TryLoad(string path) => File.Exists(path) ? Load(path) : null;

    private static byte[] Load(string path)
    {
        var info = new FileInfo(path);
        if (info.Length > 1024)
        {
            throw new InvalidDataException($"{path}: the audit key file is {info.Length} bytes; expected {KeyBytes * 2} hex digits");
        }
        string text = File.ReadAllText(path).Trim();
        if (text.Length != KeyBytes * 2 || !text.All(char.IsAsciiHexDigit))
        {
            throw new InvalidDataException($"{path}: the audit key file must hold {KeyBytes * 2} hex digits");
        }
        return Convert.FromHexString(text);
    }
}
