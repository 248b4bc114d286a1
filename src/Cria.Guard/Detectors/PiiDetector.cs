using System.Net;
using System.Text.RegularExpressions;

namespace Cria.Guard.Detectors;

/// <summary>
/// Personal data with a recognisable shape: e-mail addresses (also written <c>name [at] host [dot] com</c>),
/// phone numbers (E.164 with or without separators, North American, and national numbers starting with 0),
/// payment cards (Luhn and the issuer's prefix and length), IBANs (the country's length and mod-97), US social
/// security numbers (the SSA's invalid areas excluded), IPv4 and IPv6 addresses. Numbers right after words such
/// as "order", "invoice" or "version" are taken for what those words say they are.
/// </summary>
public sealed partial class PiiDetector : Detector
{
    public static readonly IReadOnlyList<string> AllTypes = ["email", "phone", "credit_card", "iban", "ssn", "ipv4", "ipv6"];

    private static readonly string[] s_notPhone = ["order", "invoice", "tracking", "serial", "sku", "isbn", "ticket", "confirmation", "booking", "ref", "id:", "id ", "#", "no.", "part", "case", "account", "iban"];
    private static readonly string[] s_phoneContext = ["tel", "phone", "call", "mobile", "cell", "fax", "whatsapp", "text me", "reach", "contact", "ring", "dial", "number"];
    private static readonly string[] s_notCard = ["order", "invoice", "tracking", "serial", "sku", "isbn", "ticket", "confirmation", "booking", "reference", "ref", "transaction", "txn", "shipment"];
    private static readonly string[] s_notIp = ["version", "ver.", "ver ", "v", "section", "chapter", "§", "build", "release", "oid", "rule", "step", "figure", "table"];

    private readonly bool _email;
    private readonly bool _phone;
    private readonly bool _card;
    private readonly bool _iban;
    private readonly bool _ssn;
    private readonly bool _ipv4;
    private readonly bool _ipv6;

    /// <param name="types">The types to look for (see <see cref="AllTypes"/>; <c>ip</c> means both versions); null or empty: all.</param>
    public PiiDetector(IReadOnlyCollection<string>? types = null)
    {
        bool all = types is null || types.Count == 0;
        _email = all || types!.Contains("email");
        _phone = all || types!.Contains("phone");
        _card = all || types!.Contains("credit_card");
        _iban = all || types!.Contains("iban");
        _ssn = all || types!.Contains("ssn");
        _ipv4 = all || types!.Contains("ipv4") || types!.Contains("ip");
        _ipv6 = all || types!.Contains("ipv6") || types!.Contains("ip");
    }

    public override string Name => "pii";

    public override string Label(string type) => type switch
    {
        "email" => "EMAIL",
        "phone" => "PHONE",
        "credit_card" => "CARD",
        "iban" => "IBAN",
        "ssn" => "SSN",
        _ => "IP",
    };

    public override void Detect(string text, List<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        var claims = new Claims();
        if (_email)
        {
            Emails(text, findings, claims);
            claims.EndPass();
        }
        bool digits = text.AsSpan().ContainsAnyInRange('0', '9');
        if (!digits && !_ipv6)
        {
            return;
        }
        if (_card && digits)
        {
            Cards(text, findings, claims);
            claims.EndPass();
        }
        if (_iban && digits)
        {
            Ibans(text, findings, claims);
            claims.EndPass();
        }
        if (_ssn && digits)
        {
            Ssns(text, findings, claims);
            claims.EndPass();
        }
        if (_phone && digits)
        {
            Phones(text, findings, claims);
            claims.EndPass();
        }
        if (_ipv4 && digits)
        {
            Ipv4(text, findings, claims);
            claims.EndPass();
        }
        if (_ipv6)
        {
            Ipv6(text, findings, claims);
            claims.EndPass();
        }
    }

    // A span already claimed (a card also read as a phone number) keeps its first, stronger reading.
    private void Add(Claims claims, List<Finding> findings, string type, int start, int end, double score)
    {
        if (claims.TryClaim(start, end))
        {
            findings.Add(new Finding(Name, type, start, end, score));
        }
    }

    private static bool IsLocalChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '%' or '+' or '-' or '\'';

    private static bool IsDomainChar(char c) => char.IsLetterOrDigit(c) || c is '.' or '-';

    /// <summary>Each '@' grown to the local part on its left and the domain on its right (RFC 5321's common subset).</summary>
    private void Emails(string text, List<Finding> findings, Claims claims)
    {
        int at = text.IndexOf('@', StringComparison.Ordinal);
        while (at >= 0)
        {
            int s = at;
            while (s > 0 && IsLocalChar(text[s - 1]) && at - s < 64)
            {
                s--;
            }
            while (s < at && text[s] is '.' or '-' or '\'')
            {
                s++;
            }
            int e = at + 1;
            while (e < text.Length && IsDomainChar(text[e]) && e - at < 255)
            {
                e++;
            }
            while (e > at + 1 && text[e - 1] is '.' or '-')
            {
                e--;
            }
            if (s < at && ValidDomain(text.AsSpan(at + 1, e - at - 1)))
            {
                Add(claims, findings, "email", s, e, 0.95);
            }
            at = text.IndexOf('@', Math.Max(at + 1, e));
        }
        claims.EndPass();
        // "name [at] host [dot] com": find the "[at]", grow the name to its left, match the host from it.
        foreach (ValueMatch m in ObfuscatedAt().EnumerateMatches(text))
        {
            int s = m.Index;
            if (s > 0 && text[s - 1] == ' ')
            {
                s--;
            }
            int nameEnd = s;
            while (s > 0 && IsLocalChar(text[s - 1]) && nameEnd - s < 64)
            {
                s--;
            }
            Match host = ObfuscatedHost().Match(text, m.Index + m.Length);
            if (s < nameEnd && host.Success)
            {
                Add(claims, findings, "email", s, host.Index + host.Length, 0.8);
            }
        }
    }

    private static bool ValidDomain(ReadOnlySpan<char> domain)
    {
        int dot = domain.LastIndexOf('.');
        if (dot <= 0 || domain.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }
        ReadOnlySpan<char> tld = domain[(dot + 1)..];
        if (tld.Length < 2)
        {
            return false;
        }
        foreach (char c in tld)
        {
            if (!char.IsLetter(c))
            {
                return false;
            }
        }
        return true;
    }

    private void Cards(string text, List<Finding> findings, Claims claims)
    {
        Span<char> digits = stackalloc char[20];
        foreach (ValueMatch m in CardCandidate().EnumerateMatches(text))
        {
            // Shorten at separators from the end until a prefix of the run is a card: "4111 1111 1111 1111 2024".
            int end = m.Index + m.Length;
            while (end > m.Index)
            {
                int n = TextScan.Digits(text.AsSpan(m.Index, end - m.Index), digits);
                if (n is >= 13 and <= 19 && Checksums.IsCardPrefix(digits[..n]) && Checksums.Luhn(digits[..n]) && TextScan.Isolated(text, m.Index, end))
                {
                    double score = TextScan.Before(text, m.Index, 24, s_notCard) ? 0.4 : 0.95;
                    Add(claims, findings, "credit_card", m.Index, end, score);
                    break;
                }
                int sep = text.AsSpan(m.Index, end - m.Index).LastIndexOfAny(' ', '-');
                if (sep <= 0)
                {
                    break;
                }
                end = m.Index + sep;
            }
        }
    }

    private void Ibans(string text, List<Finding> findings, Claims claims)
    {
        Span<char> compact = stackalloc char[34];
        foreach (ValueMatch m in IbanCandidate().EnumerateMatches(text))
        {
            if (m.Index > 0 && char.IsLetterOrDigit(text[m.Index - 1]))
            {
                continue;
            }
            int length = Checksums.IbanLength([char.ToUpperInvariant(text[m.Index]), char.ToUpperInvariant(text[m.Index + 1])]);
            if (length == 0)
            {
                continue;
            }
            int n = 0;
            int end = m.Index;
            while (end < m.Index + m.Length && n < length)
            {
                char c = text[end++];
                if (c != ' ')
                {
                    compact[n++] = char.ToUpperInvariant(c);
                }
            }
            if (n == length && (end == text.Length || !char.IsLetterOrDigit(text[end])) && Checksums.Iban(compact[..n]))
            {
                Add(claims, findings, "iban", m.Index, end, 1.0);
            }
        }
    }

    private void Ssns(string text, List<Finding> findings, Claims claims)
    {
        foreach (ValueMatch m in Ssn().EnumerateMatches(text))
        {
            ReadOnlySpan<char> s = text.AsSpan(m.Index, m.Length);
            int digitsStart = m.Length - 11;
            ReadOnlySpan<char> area = s.Slice(digitsStart, 3);
            if (area is "000" or "666" || area[0] == '9' || s.Slice(digitsStart + 4, 2) is "00" || s.Slice(digitsStart + 7, 4) is "0000" || !TextScan.Isolated(text, m.Index + digitsStart, m.Index + m.Length))
            {
                continue;
            }
            Add(claims, findings, "ssn", m.Index + digitsStart, m.Index + m.Length, 0.9);
        }
        claims.EndPass();
        foreach (ValueMatch m in SsnInContext().EnumerateMatches(text))
        {
            Add(claims, findings, "ssn", m.Index + m.Length - 9, m.Index + m.Length, 0.85);
        }
    }

    private void Phones(string text, List<Finding> findings, Claims claims)
    {
        Span<char> digits = stackalloc char[16];
        foreach (ValueMatch m in PhoneCandidate().EnumerateMatches(text))
        {
            int start = m.Index;
            int end = m.Index + m.Length;
            while (end > start && text[end - 1] is ' ' or '.' or '-' or '(' or '/')
            {
                end--;
            }
            int n = TextScan.Digits(text.AsSpan(start, end - start), digits);
            char first = text[start];
            bool context = TextScan.Before(text, start, 32, s_phoneContext);
            double score;
            if (first == '+')
            {
                score = n is >= 8 and <= 15 ? 0.9 : 0;
            }
            else if (first == '0' || (first == '(' && start + 1 < end && text[start + 1] == '0'))
            {
                bool separated = text.AsSpan(start, end - start).ContainsAny(" -./");
                score = n is >= 9 and <= 12 && (separated || context) ? (context ? 0.9 : 0.7) : 0;
            }
            else
            {
                score = IsNanp(digits[..Math.Min(n, digits.Length)], text.AsSpan(start, end - start)) ? (context ? 0.95 : 0.85) : 0;
            }
            if (score > 0 && TextScan.Before(text, start, 20, s_notPhone) && !context)
            {
                score = 0.3;
            }
            if (score > 0 && TextScan.Isolated(text, start, end))
            {
                Add(claims, findings, "phone", start, end, score);
            }
        }
    }

    /// <summary>North American numbers: 10 digits (or 11 with the leading 1), area and exchange codes 2–9, the last four after a separator.</summary>
    private static bool IsNanp(ReadOnlySpan<char> digits, ReadOnlySpan<char> span)
    {
        if (digits.Length == 11 && digits[0] == '1')
        {
            digits = digits[1..];
        }
        if (digits.Length != 10 || digits[0] < '2' || digits[3] < '2')
        {
            return false;
        }
        // Separated as 3-3-4 (a date or a bare number is not): the last group is four digits after a separator.
        return span.Length >= 5 && span[^5] is ' ' or '-' or '.';
    }

    private void Ipv4(string text, List<Finding> findings, Claims claims)
    {
        foreach (ValueMatch m in Ipv4Candidate().EnumerateMatches(text))
        {
            ReadOnlySpan<char> s = text.AsSpan(m.Index, m.Length);
            bool ok = true;
            foreach (Range part in s.Split('.'))
            {
                ReadOnlySpan<char> octet = s[part];
                ok &= int.TryParse(octet, out int v) && v <= 255 && (octet.Length == 1 || octet[0] != '0');
            }
            if (ok && TextScan.Isolated(text, m.Index, m.Index + m.Length) && !NotAnAddress(text, m.Index))
            {
                Add(claims, findings, "ipv4", m.Index, m.Index + m.Length, 0.9);
            }
        }
    }

    private static bool NotAnAddress(string text, int start)
    {
        if (start > 0 && text[start - 1] is 'v' or 'V')
        {
            return true;
        }
        return TextScan.Before(text, start, 12, s_notIp.AsSpan(0, 2)) || TextScan.Before(text, start, 10, s_notIp.AsSpan(4));
    }

    private void Ipv6(string text, List<Finding> findings, Claims claims)
    {
        if (text.IndexOf(':', StringComparison.Ordinal) < 0)
        {
            return;
        }
        foreach (ValueMatch m in Ipv6Candidate().EnumerateMatches(text))
        {
            int start = m.Index;
            int end = m.Index + m.Length;
            if (end - start > 1 && text[end - 1] == ':' && text[end - 2] != ':')
            {
                end--;
            }
            ReadOnlySpan<char> s = text.AsSpan(start, end - start);
            int colons = s.Count(':');
            bool compressed = s.Contains("::", StringComparison.Ordinal);
            if (s.Length < 6 || (!compressed && colons != 7) || !s.ContainsAnyInRange('0', '9') || !IPAddress.TryParse(s, out IPAddress? address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                continue;
            }
            bool before = start > 0 && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] is ':' or '_');
            bool after = end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_');
            if (!before && !after)
            {
                Add(claims, findings, "ipv6", start, end, compressed ? 0.85 : 0.9);
            }
        }
    }

    [GeneratedRegex(@"[\[\(\{] ?at ?[\]\)\}]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ObfuscatedAt();

    [GeneratedRegex(@"\G ?[A-Za-z0-9-]{1,63}(?: ?(?:[\[\(\{] ?dot ?[\]\)\}]|\.) ?[A-Za-z0-9-]{1,63}){1,8}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ObfuscatedHost();

    [GeneratedRegex(@"\d(?:[ -]?\d){11,22}", RegexOptions.CultureInvariant)]
    private static partial Regex CardCandidate();

    [GeneratedRegex(@"[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,36}", RegexOptions.CultureInvariant)]
    private static partial Regex IbanCandidate();

    [GeneratedRegex(@"\b\d{3}([ -])\d{2}\1\d{4}\b", RegexOptions.CultureInvariant)]
    private static partial Regex Ssn();

    [GeneratedRegex(@"\b(?:ssn|social security(?: number| no\.?| #)?)(?:\s+(?:is|was))?\W{0,5}\d{9}\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SsnInContext();

    [GeneratedRegex(@"\+\(?\d[\d ().\-/]{5,22}\d|(?:\b1[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]?\d{3}[ .-]\d{4}\b|\(?\b0\d{1,4}\)?(?:[ ./-]?\d{2,8}){1,5}", RegexOptions.CultureInvariant)]
    private static partial Regex PhoneCandidate();

    [GeneratedRegex(@"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv4Candidate();

    [GeneratedRegex(@"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv6Candidate();
}
