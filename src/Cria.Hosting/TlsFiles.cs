using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cria.Hosting;

/// <summary>
/// <c>--tls-cert FILE --tls-key FILE</c>: a PEM certificate (its chain may follow it in the same file)
/// and its PEM private key, served with Kestrel's own HTTPS. Loaded once, when the app is built, so a
/// missing, unreadable or mismatched file stops the start with a message naming it.
/// </summary>
public sealed record TlsFiles(string CertificatePath, string KeyPath)
{
    /// <summary>Both options or neither: the pair, null without TLS.</summary>
    /// <exception cref="ArgumentException">Only one of the two was given.</exception>
    public static TlsFiles? From(string? certificatePath, string? keyPath) => (certificatePath, keyPath) switch
    {
        (null, null) => null,
        ({ } cert, { } key) => new TlsFiles(cert, key),
        (null, _) => throw new ArgumentException("--tls-key needs --tls-cert (the PEM certificate it belongs to)"),
        _ => throw new ArgumentException("--tls-cert needs --tls-key (the PEM private key of the certificate)"),
    };

    /// <summary>The certificate with its private key.</summary>
    /// <exception cref="ArgumentException">A file is missing, not PEM, has no certificate or key, or the key is not the certificate's.</exception>
    public X509Certificate2 Load()
    {
        CheckFile(CertificatePath, "--tls-cert");
        CheckFile(KeyPath, "--tls-key");
        X509Certificate2 cert;
        try
        {
            cert = X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath);
        }
        catch (CryptographicException e)
        {
            // Tell apart a certificate file that is not one from a key file that is not a key.
            string problem = ReadsAsCertificate(CertificatePath)
                ? $"--tls-key {KeyPath} holds no usable PEM private key (-----BEGIN PRIVATE KEY-----)"
                : $"--tls-cert {CertificatePath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
            throw new ArgumentException($"{problem}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--tls-key {KeyPath} is not the private key of the certificate in --tls-cert {CertificatePath}: {e.Message}", e);
        }
        if (!cert.HasPrivateKey)
        {
            cert.Dispose();
            throw new ArgumentException($"--tls-key {KeyPath} gave no private key for the certificate in {CertificatePath}");
        }
        return cert;
    }

    private static void CheckFile(string path, string option)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new ArgumentException($"{option} {path}: file not found");
        }
        if (file.Length > 1 << 20)
        {
            throw new ArgumentException($"{option} {path}: {file.Length} bytes is too large for a PEM certificate or key (at most 1 MiB)");
        }
    }

    private static bool ReadsAsCertificate(string path)
    {
        try
        {
            using X509Certificate2 cert = X509CertificateLoader.LoadCertificateFromFile(path);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return false;
        }
    }
}
