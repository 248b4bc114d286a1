using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Cria.Server.Audit;

/// <summary>
/// The hash chain. A record's canonical encoding is a version tag, then every field in a fixed order,
/// each as a type byte (0 null, 1 a 64-bit big-endian integer, 2 a length-prefixed UTF-8 string), then
/// its predecessor's hash: unambiguous, so two different records never encode alike. Its hash is
/// SHA-256 over that encoding and its signature (empty for all but checkpoints), so anyone holding the
/// file can check the chain; checkpoints and the head are also signed with HMAC-SHA-256 under the
/// log's key (<see cref="AuditKey"/>), which vouches for what the chain alone cannot: that the pruned
/// prefix and the last record are the writer's.
/// </summary>
public static class AuditChain
{
    /// <summary>The predecessor of the first record ever written.</summary>
    public static readonly string Genesis = new('0', 64);

    private static readonly byte[] s_recordTag = Encoding.ASCII.GetBytes("cria.audit.v1");
    private static readonly byte[] s_headTag = Encoding.ASCII.GetBytes("cria.audit.head.v1");

    /// <summary>The record's hash (hex), over its fields, its predecessor's hash and its signature.</summary>
    public static string Hash(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        byte[] bytes = Encode(record, withSignature: true);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>A checkpoint's signature (hex): HMAC over its fields and predecessor's hash.</summary>
    public static string Sign(AuditRecord record, byte[] key)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encode(record, withSignature: false)));
    }

    /// <summary>The head's MAC: the id and hash of the last record written.</summary>
    public static string SignHead(long lastId, string lastHash, byte[] key)
    {
        ArgumentNullException.ThrowIfNull(lastHash);
        var bytes = new List<byte>(s_headTag);
        AddInteger(bytes, lastId);
        AddString(bytes, lastHash);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, bytes.ToArray()));
    }

    /// <summary>Compares two hex MACs in constant time.</summary>
    public static bool MacEquals(string? expected, string actual)
    {
        ArgumentNullException.ThrowIfNull(actual);
        return expected is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(actual));
    }

    /// <summary>SHA-256 of a text's UTF-8, hex.</summary>
    public static string Sha256(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static byte[] Encode(AuditRecord r, bool withSignature)
    {
        var b = new List<byte>(256);
        b.AddRange(s_recordTag);
        AddInteger(b, r.Id);
        AddString(b, r.Kind);
        AddInteger(b, r.TimeMs);
        AddString(b, r.Key);
        AddString(b, r.Method);
        AddString(b, r.Route);
        AddInteger(b, r.Status);
        AddString(b, r.Model);
        AddString(b, r.Adapters);
        AddInteger(b, r.PromptTokens);
        AddInteger(b, r.CompletionTokens);
        AddInteger(b, r.LatencyMicroseconds);
        AddString(b, r.FinishReason);
        AddString(b, r.FindingsJson);
        AddString(b, r.Actions);
        AddString(b, r.PromptSha256);
        AddString(b, r.OutputSha256);
        AddString(b, r.PromptText);
        AddString(b, r.OutputText);
        AddInteger(b, r.PrunedThrough);
        AddInteger(b, r.PrunedCount);
        AddString(b, r.PrunedHash);
        AddInteger(b, r.Dropped);
        AddString(b, r.PrevHash);
        if (withSignature)
        {
            AddString(b, r.Signature);
        }
        return [.. b];
    }

    private static void AddInteger(List<byte> b, long? value)
    {
        if (value is not { } v)
        {
            b.Add(0);
            return;
        }
        b.Add(1);
        Span<byte> be = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(be, v);
        b.AddRange(be);
    }

    private static void AddString(List<byte> b, string? value)
    {
        if (value is null)
        {
            b.Add(0);
            return;
        }
        b.Add(2);
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        Span<byte> be = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(be, utf8.Length);
        b.AddRange(be);
        b.AddRange(utf8);
    }
}
