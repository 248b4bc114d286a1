namespace Cria.Hub.Cards;

/// <summary>
/// A short name for a licence text, for <c>cria list</c> and a model card's <c>license:</c> — the ids
/// Hugging Face uses (mit, apache-2.0, llama3.1, gemma…). A one-word text (a GGUF's
/// <c>general.license</c>, an SPDX id) is taken as the id; a full text is recognized by its title.
/// Anything else is "other". (Recognizing obligations is not done here.)
/// </summary>
public static class LicenseNames
{
    private static readonly (string Marker, string Id)[] s_titles =
    [
        ("LLAMA 4 COMMUNITY LICENSE", "llama4"),
        ("LLAMA 3.3 COMMUNITY LICENSE", "llama3.3"),
        ("LLAMA 3.2 COMMUNITY LICENSE", "llama3.2"),
        ("LLAMA 3.1 COMMUNITY LICENSE", "llama3.1"),
        ("META LLAMA 3 COMMUNITY LICENSE", "llama3"),
        ("LLAMA 2 COMMUNITY LICENSE", "llama2"),
        ("GEMMA TERMS OF USE", "gemma"),
        ("APACHE LICENSE", "apache-2.0"),
        ("MIT LICENSE", "mit"),
        ("PERMISSION IS HEREBY GRANTED, FREE OF CHARGE", "mit"),
        ("CREATIVE COMMONS ATTRIBUTION-NONCOMMERCIAL 4.0", "cc-by-nc-4.0"),
        ("CREATIVE COMMONS ATTRIBUTION 4.0", "cc-by-4.0"),
        ("GNU GENERAL PUBLIC LICENSE", "gpl-3.0"),
        ("BSD 3-CLAUSE", "bsd-3-clause"),
        ("OPENRAIL", "openrail"),
    ];

    /// <summary>The licence's short id, lowercase.</summary>
    public static string ShortName(string? text)
    {
        string t = (text ?? "").Trim();
        if (t.Length == 0)
        {
            return "";
        }
        if (t.Length <= 64 && !t.Any(char.IsWhiteSpace))
        {
            string id = t.ToLowerInvariant();
            return id switch
            {
                "apache2" or "apache-2" or "apache2.0" or "apache" => "apache-2.0",
                "llama-2" => "llama2",
                "llama-3" => "llama3",
                _ => id,
            };
        }
        string head = (t.Length > 4096 ? t[..4096] : t).ToUpperInvariant();
        head = string.Join(' ', head.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        foreach ((string marker, string id) in s_titles)
        {
            if (head.Contains(marker, StringComparison.Ordinal))
            {
                return id;
            }
        }
        return "other";
    }
}
