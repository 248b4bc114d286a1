using System.Text;
using System.Text.RegularExpressions;

namespace Cria.Guard.Detectors;

/// <summary>
/// Credentials by their issuers' formats: AWS access key ids (and secret keys next to their name), GitHub
/// tokens, OpenAI and Anthropic keys, Slack tokens and webhooks, Google API keys and OAuth secrets, Stripe,
/// Hugging Face and npm tokens, PEM private-key blocks, JWTs (the header must decode to JSON naming an
/// <c>alg</c>), passwords in connection strings and URLs, and high-entropy values assigned to names like
/// <c>api_key</c> or <c>client_secret</c>. A placeholder (<c>${DB_PASSWORD}</c>, <c>&lt;password&gt;</c>,
/// <c>os.environ["KEY"]</c>, <c>xxxx</c>) is not a secret.
/// </summary>
public sealed partial class SecretsDetector : Detector
{
    public static readonly IReadOnlyList<string> AllTypes =
    [
        "aws_access_key", "aws_secret_key", "github_token", "openai_key", "anthropic_key", "slack_token", "slack_webhook",
        "google_api_key", "google_oauth_secret", "stripe_key", "huggingface_token", "npm_token", "private_key", "jwt",
        "connection_string_password", "generic_secret",
    ];

    private readonly HashSet<string>? _types;

    public SecretsDetector(IReadOnlyCollection<string>? types = null)
    {
        _types = types is null || types.Count == 0 ? null : [.. types];
    }

    public override string Name => "secrets";

    public override string Label(string type) => "SECRET";

    private bool On(string type) => _types is null || _types.Contains(type);

    public override void Detect(string text, List<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        var claims = new Claims();
        foreach (ValueMatch m in Tokens().EnumerateMatches(text))
        {
            string? type = Classify(text.AsSpan(m.Index, m.Length));
            if (type is not null && On(type) && TokenIsolated(text, m.Index, m.Index + m.Length))
            {
                Add(claims, findings, type, m.Index, m.Index + m.Length, 0.95);
            }
        }
        claims.EndPass();
        if (On("aws_secret_key"))
        {
            Values(text, AwsSecret(), "aws_secret_key", 0.9, findings, claims);
            claims.EndPass();
        }
        if (On("private_key"))
        {
            foreach (ValueMatch m in PrivateKey().EnumerateMatches(text))
            {
                int end = m.Index + m.Length;
                int close = text.IndexOf("-----END", end, StringComparison.Ordinal);
                if (close >= 0)
                {
                    int closeEnd = text.IndexOf("-----", close + 8, StringComparison.Ordinal);
                    end = closeEnd >= 0 ? closeEnd + 5 : close + 8;
                }
                Add(claims, findings, "private_key", m.Index, end, 1.0);
            }
        }
        claims.EndPass();
        if (On("jwt"))
        {
            foreach (ValueMatch m in Jwt().EnumerateMatches(text))
            {
                ReadOnlySpan<char> header = text.AsSpan(m.Index, text.IndexOf('.', m.Index) - m.Index);
                if (JwtHeader(header))
                {
                    Add(claims, findings, "jwt", m.Index, m.Index + m.Length, 0.95);
                }
            }
        }
        claims.EndPass();
        if (On("connection_string_password"))
        {
            Values(text, ConnectionPassword(), "connection_string_password", 0.9, findings, claims);
            claims.EndPass();
            Values(text, UrlPassword(), "connection_string_password", 0.9, findings, claims);
            claims.EndPass();
        }
        if (On("generic_secret"))
        {
            foreach (Match m in Assigned().Matches(text))
            {
                Group value = m.Groups["v"];
                if (!IsPlaceholder(value.ValueSpan) && TextScan.LooksRandom(value.ValueSpan, 3.0))
                {
                    Add(claims, findings, "generic_secret", value.Index, value.Index + value.Length, 0.75);
                }
            }
        }
    }

    /// <summary>Which issuer a token-shaped word comes from, by its prefix and length; null: none.</summary>
    private static string? Classify(ReadOnlySpan<char> t)
    {
        if (t.Length == 20 && t[0] == 'A' && t[1..4] is "KIA" or "SIA" or "GPA" or "IDA" or "ROA" or "NPA" or "NVA" or "IPA" or "BIA" or "CCA" or "PKA" or "SCA" && IsUpperAlnum(t[4..]))
        {
            return "aws_access_key";
        }
        if (t.Length >= 40 && t[0] == 'g' && t[1] == 'h' && t[2] is 'p' or 'o' or 'u' or 's' or 'r' && t[3] == '_' && TextScan.LooksRandom(t[4..], 3.0))
        {
            return "github_token";
        }
        if (t.StartsWith("github_pat_", StringComparison.Ordinal) && t.Length >= 60)
        {
            return "github_token";
        }
        if (t.StartsWith("sk-ant-", StringComparison.Ordinal) && t.Length >= 40)
        {
            return "anthropic_key";
        }
        if (t.StartsWith("sk-", StringComparison.Ordinal) && t.Length >= 32 && TextScan.LooksRandom(t[3..], 3.5))
        {
            return "openai_key";
        }
        if (t.StartsWith("xox", StringComparison.Ordinal) && t.Length >= 15 && t[3] is 'a' or 'b' or 'p' or 'o' or 's' or 'r' or 'e' && t[4] == '-' && t[5..].ContainsAnyInRange('0', '9'))
        {
            return "slack_token";
        }
        if (t.Length == 39 && t.StartsWith("AIza", StringComparison.Ordinal))
        {
            return "google_api_key";
        }
        if (t.StartsWith("GOCSPX-", StringComparison.Ordinal) && t.Length >= 30)
        {
            return "google_oauth_secret";
        }
        if (t.Length >= 24 && (t.StartsWith("sk_live_", StringComparison.Ordinal) || t.StartsWith("rk_live_", StringComparison.Ordinal) || t.StartsWith("sk_test_", StringComparison.Ordinal)) && TextScan.LooksRandom(t[8..], 3.0))
        {
            return "stripe_key";
        }
        if (t.Length >= 37 && t.StartsWith("hf_", StringComparison.Ordinal) && TextScan.Entropy(t[3..]) >= 3.5)
        {
            return "huggingface_token";
        }
        if (t.Length == 40 && t.StartsWith("npm_", StringComparison.Ordinal) && TextScan.LooksRandom(t[4..], 3.5))
        {
            return "npm_token";
        }
        if (t.StartsWith("https://hooks.slack.com/services/", StringComparison.Ordinal) && t.Length > 50)
        {
            return "slack_webhook";
        }
        return null;
    }

    private static bool IsUpperAlnum(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiLetterUpper(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    private static bool TokenIsolated(string text, int start, int end) =>
        (start == 0 || !(char.IsLetterOrDigit(text[start - 1]) || text[start - 1] is '_' or '-')) &&
        (end == text.Length || !(char.IsLetterOrDigit(text[end]) || text[end] is '_' or '-'));

    private void Values(string text, Regex regex, string type, double score, List<Finding> findings, Claims claims)
    {
        foreach (Match m in regex.Matches(text))
        {
            Group value = m.Groups["v"];
            if (value.Length >= 4 && !IsPlaceholder(value.ValueSpan))
            {
                Add(claims, findings, type, value.Index, value.Index + value.Length, score);
            }
        }
    }

    /// <summary>Template variables, environment look-ups, masks and the words people put where a secret will go.</summary>
    private static bool IsPlaceholder(ReadOnlySpan<char> v)
    {
        if (v.IsEmpty || v[0] is '$' or '{' or '<' or '%' or '[' or '(' || v.Contains("{{", StringComparison.Ordinal) || v.Contains("environ", StringComparison.OrdinalIgnoreCase) || v.Contains("getenv", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        bool same = true;
        foreach (char c in v)
        {
            same &= c == v[0];
        }
        if (same)
        {
            return true;
        }
        foreach (string word in (ReadOnlySpan<string>)["password", "passwd", "changeme", "your_", "your-", "example", "placeholder", "redacted", "secret_here", "xxxx", "****", "...", "dummy", "sample", "todo"])
        {
            if (v.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static bool JwtHeader(ReadOnlySpan<char> b64)
    {
        if (b64.Length > 1024)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[768];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(b64, bytes, out int n))
        {
            return false;
        }
        string header = Encoding.UTF8.GetString(bytes[..n]);
        return header.Contains("\"alg\"", StringComparison.Ordinal) || header.Contains("\"typ\"", StringComparison.Ordinal);
    }

    private void Add(Claims claims, List<Finding> findings, string type, int start, int end, double score)
    {
        if (claims.TryClaim(start, end))
        {
            findings.Add(new Finding(Name, type, start, end, score));
        }
    }

    [GeneratedRegex(@"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA|APKA|ASCA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{50,255}|sk-[A-Za-z0-9_\-]{20,255}|xox[abposre]-[A-Za-z0-9\-]{10,255}|AIza[0-9A-Za-z_\-]{35}|GOCSPX-[A-Za-z0-9_\-]{20,64}|[sr]k_(?:live|test)_[0-9A-Za-z]{16,255}|hf_[A-Za-z0-9]{34,64}|npm_[A-Za-z0-9]{36}|https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,200}", RegexOptions.CultureInvariant)]
    private static partial Regex Tokens();

    [GeneratedRegex(@"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)[""']?\s*[:=]\s*[""']?(?<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])", RegexOptions.CultureInvariant)]
    private static partial Regex AwsSecret();

    [GeneratedRegex(@"-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----", RegexOptions.CultureInvariant)]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_\-]{8,1024}\.eyJ[A-Za-z0-9_\-]{8,8192}\.[A-Za-z0-9_\-]{8,1024}", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    // Password=…; in ADO.NET/ODBC/JDBC connection strings: only where the string has another key=value pair of a connection string.
    [GeneratedRegex(@"(?i:(?:server|host|data source|database|initial catalog|user id|uid|username|user)\s*=[^;\r\n]{1,200};(?:[^;\r\n]{0,200};){0,8}?\s*(?:password|pwd)\s*=\s*)(?<v>""[^""\r\n]{1,200}""|'[^'\r\n]{1,200}'|[^;\s""']{1,200})", RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionPassword();

    [GeneratedRegex(@"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:/@]{1,100}:(?<v>[^\s@/]{1,200})@[A-Za-z0-9.\-\[\]]", RegexOptions.CultureInvariant)]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"(?i:\b(?:api[_\-]?key|apikey|secret[_\-]?key|client[_\-]?secret|access[_\-]?token|auth[_\-]?token|secret|private[_\-]?key|password|passwd|bearer)\b[""']?\s*(?:[:=]|=>)\s*[""'])(?<v>[A-Za-z0-9_\-+/=.]{16,200})[""']", RegexOptions.CultureInvariant)]
    private static partial Regex Assigned();
}
