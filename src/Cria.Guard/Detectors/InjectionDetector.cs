using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Cria.Guard.Detectors;

/// <summary>
/// Prompt-injection and jailbreak heuristics: instructions to ignore earlier instructions or to reveal the system
/// prompt (English, and the common French, German, Spanish, Italian and Portuguese forms), role-play overrides
/// ("pretend you are an AI without restrictions", developer mode, DAN), chat-template tokens spoofed inside text
/// (<c>&lt;|im_start|&gt;</c>, <c>[INST]</c>, <c>&lt;|begin_of_text|&gt;</c>, …), invisible Unicode tag characters,
/// bidi overrides and runs of zero-width characters, and base64 or hex payloads that decode to any of these.
/// Phrases need their object ("ignore the previous instructions", not "ignore the noise"), so ordinary
/// instructions are not injection.
/// </summary>
public sealed partial class InjectionDetector : Detector
{
    public static readonly IReadOnlyList<string> AllTypes = ["ignore_instructions", "reveal_prompt", "role_override", "template_token", "hidden_unicode", "bidi_override", "encoded_payload"];

    private static readonly SearchValues<char> s_invisible = SearchValues.Create("\u200B\u200C\u2060\u180E\uFEFF\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\uDB40\uFE00\uFE01\uFE02\uFE03\uFE04\uFE05\uFE06\uFE07\uFE08\uFE09\uFE0A\uFE0B\uFE0C\uFE0D\uFE0E\uFE0F");

    private readonly HashSet<string>? _types;

    public InjectionDetector(IReadOnlyCollection<string>? types = null)
    {
        _types = types is null || types.Count == 0 ? null : [.. types];
    }

    public override string Name => "injection";

    private bool On(string type) => _types is null || _types.Contains(type);

    public override void Detect(string text, List<Finding> findings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(findings);
        Phrases(text, 0, text.Length, findings, 1.0);
        if (On("template_token"))
        {
            Matches(text, TemplateToken(), "template_token", 0.95, findings);
        }
        if (text.AsSpan().IndexOfAny(s_invisible) >= 0)
        {
            Invisible(text, findings);
        }
        if (On("encoded_payload"))
        {
            Encoded(text, findings);
        }
    }

    /// <summary>The phrase rules over text (or over a decoded payload, whose findings then cover the payload's span).</summary>
    private void Phrases(string text, int spanStart, int spanEnd, List<Finding> findings, double weight, string? asType = null)
    {
        if (On(asType ?? "ignore_instructions"))
        {
            Matches(text, Ignore(), asType ?? "ignore_instructions", 0.9 * weight, findings, spanStart, spanEnd, asType is not null);
            Matches(text, IgnoreOtherLanguages(), asType ?? "ignore_instructions", 0.9 * weight, findings, spanStart, spanEnd, asType is not null);
        }
        if (On(asType ?? "reveal_prompt"))
        {
            Matches(text, Reveal(), asType ?? "reveal_prompt", 0.85 * weight, findings, spanStart, spanEnd, asType is not null);
        }
        if (On(asType ?? "role_override"))
        {
            Matches(text, RoleOverride(), asType ?? "role_override", 0.8 * weight, findings, spanStart, spanEnd, asType is not null);
            Matches(text, Dan(), asType ?? "role_override", 0.8 * weight, findings, spanStart, spanEnd, asType is not null);
        }
        if (asType is not null && On(asType))
        {
            Matches(text, TemplateToken(), asType, 0.9 * weight, findings, spanStart, spanEnd, true);
        }
    }

    private void Matches(string text, Regex regex, string type, double score, List<Finding> findings, int spanStart = 0, int spanEnd = 0, bool wholeSpan = false)
    {
        foreach (ValueMatch m in regex.EnumerateMatches(text))
        {
            (int start, int end) = wholeSpan ? (spanStart, spanEnd) : (m.Index, m.Index + m.Length);
            Add(findings, type, start, end, score);
            if (wholeSpan)
            {
                return;
            }
        }
    }

    private void Add(List<Finding> findings, string type, int start, int end, double score)
    {
        // Passes add in order of start, so a repeat of the same span can only be among the last few.
        for (int i = findings.Count - 1; i >= 0 && i >= findings.Count - 4; i--)
        {
            Finding f = findings[i];
            if (f.Detector == Name && f.Start < end && start < f.End && f.Type == type)
            {
                return;
            }
        }
        findings.Add(new Finding(Name, type, start, end, score));
    }

    /// <summary>Unicode tag characters (U+E0000–E007F, which render as nothing and can spell out ASCII), bidi embeddings, overrides and isolates, zero-width runs, variation-selector runs.</summary>
    private void Invisible(string text, List<Finding> findings)
    {
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\uDB40' && i + 1 < text.Length && text[i + 1] is >= '\uDC00' and <= '\uDC7F')
            {
                int start = i;
                while (i + 1 < text.Length && text[i] == '\uDB40' && text[i + 1] is >= '\uDC00' and <= '\uDC7F')
                {
                    i += 2;
                }
                if (On("hidden_unicode"))
                {
                    Add(findings, "hidden_unicode", start, i, 0.95);
                }
                continue;
            }
            if (c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069')
            {
                int start = i;
                bool overrides = false;
                while (i < text.Length && text[i] is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069')
                {
                    overrides |= text[i] is '\u202D' or '\u202E';
                    i++;
                }
                if (On("bidi_override"))
                {
                    Add(findings, "bidi_override", start, i, overrides ? 0.9 : 0.7);
                }
                continue;
            }
            if (c is '\u200B' or '\u200C' or '\u2060' or '\u180E' or '\uFEFF' or >= '\uFE00' and <= '\uFE0F')
            {
                int start = i;
                while (i < text.Length && text[i] is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\u180E' or '\uFEFF' or >= '\uFE00' and <= '\uFE0F')
                {
                    i++;
                }
                // One zero-width space or a variation selector after an emoji is ordinary text; runs are not.
                bool selectors = c is >= '\uFE00' and <= '\uFE0F';
                if (i - start >= (selectors ? 4 : 2) && !(start == 0 && c == '\uFEFF' && i == 1) && On("hidden_unicode"))
                {
                    Add(findings, "hidden_unicode", start, i, 0.8);
                }
                continue;
            }
            i++;
        }
    }

    /// <summary>Base64 (standard or URL-safe) and hex runs decoded; a payload whose text is an instruction is one.</summary>
    private void Encoded(string text, List<Finding> findings)
    {
        byte[]? rented = null;
        try
        {
            foreach (ValueMatch m in Base64Run().EnumerateMatches(text))
            {
                ReadOnlySpan<char> run = text.AsSpan(m.Index, m.Length).TrimEnd('=');
                if (run.Length > 16384)
                {
                    continue;
                }
                rented ??= ArrayPool<byte>.Shared.Rent(12288);
                int n = DecodeBase64(run, rented);
                if (n >= 8 && Printable(rented.AsSpan(0, n)))
                {
                    Phrases(Encoding.UTF8.GetString(rented, 0, n), m.Index, m.Index + m.Length, findings, 1.0, "encoded_payload");
                }
            }
            foreach (ValueMatch m in HexRun().EnumerateMatches(text))
            {
                ReadOnlySpan<char> run = text.AsSpan(m.Index, m.Length);
                if (run.Length > 32768)
                {
                    continue;
                }
                rented ??= ArrayPool<byte>.Shared.Rent(16384);
                int n = 0;
                for (int i = 0; i + 1 < run.Length && n < rented.Length; i++)
                {
                    if (run[i] == ' ' || run[i] == ':')
                    {
                        continue;
                    }
                    rented[n++] = (byte)((Hex(run[i]) << 4) | Hex(run[i + 1]));
                    i++;
                }
                if (n >= 8 && Printable(rented.AsSpan(0, n)))
                {
                    Phrases(Encoding.UTF8.GetString(rented, 0, n), m.Index, m.Index + m.Length, findings, 1.0, "encoded_payload");
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int Hex(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static int DecodeBase64(ReadOnlySpan<char> run, byte[] into)
    {
        Span<char> buffer = run.Length <= 4096 ? stackalloc char[run.Length + 3] : new char[run.Length + 3];
        for (int i = 0; i < run.Length; i++)
        {
            buffer[i] = run[i] switch { '-' => '+', '_' => '/', char c => c };
        }
        int length = run.Length;
        while (length % 4 != 0)
        {
            buffer[length++] = '=';
        }
        return Convert.TryFromBase64Chars(buffer[..length], into, out int written) ? written : 0;
    }

    private static bool Printable(ReadOnlySpan<byte> bytes)
    {
        int printable = 0;
        foreach (byte b in bytes)
        {
            if (b is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\r' or (byte)'\t' || b >= 0x80)
            {
                printable++;
            }
        }
        return printable >= bytes.Length * 0.9;
    }

    [GeneratedRegex(@"\b(?:ignore|disregard|forget|skip|override|bypass|abandon|discard|neglect|overlook|set\s+aside|stop\s+following|do\s+not\s+follow|don't\s+follow|never\s+mind)\s+(?:(?:all|any|every|each|of|the|your|my|these|those|its|this|that|everything|prior)\s+){0,4}(?:(?:previous|previously|prior|above|earlier|preceding|former|initial|original|system|existing|old|safety|given|provided|developer|default|programmed|built-in|hidden|other)\s+){1,3}(?:instructions?|prompts?|rules|directions?|guidelines|guidance|context|constraints|programming|directives?|commands?|orders|policies|polic(?:y|ies)|restrictions|filters|guardrails|messages?|text|conversation|settings)\b|\b(?:ignore|disregard|forget|override|bypass|abandon|discard)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:your|the\s+system'?s?|its)\s+(?:instructions|rules|guidelines|programming|restrictions|directives|constraints|training|safety\s+(?:rules|guidelines|training|filters)|content\s+polic(?:y|ies)|filters|guardrails)\b|\bforget\s+(?:everything|all)\s+(?:you\s+(?:were|have\s+been)\s+told|(?:I|we)\s+(?:said|told\s+you)|above|before|previously|so\s+far)\b|\b(?:system|admin|developer|root)\s+override\b|\bnew\s+(?:system\s+)?instructions\s*:|\b(?:override|disable|turn\s+off|deactivate)\s+(?:your\s+|the\s+|all\s+)?(?:safety|content|ethical|moderation)\s+(?:settings|filters?|protocols?|guidelines|polic(?:y|ies)|mode)\b|\b(?:ignore|disregard)\s+(?:all|everything)\s+(?:above|before|prior)\b|\binstead\s+of\s+(?:following|doing)\s+(?:your|the|these)\s+(?:instructions|rules)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Ignore();

    [GeneratedRegex(@"\b(?:ignore[rz]?|oublie[rz]?)\s+(?:toutes\s+)?(?:les\s+|tes\s+|vos\s+)?(?:instructions|consignes|règles)(?:\s+(?:précédentes|antérieures|ci-dessus|initiales))?|\b(?:ignorier(?:e|en|t)?|vergiss|vergessen\s+sie)\s+(?:alle\s+)?(?:deine\s+|die\s+|ihre\s+)?(?:vorherigen\s+|bisherigen\s+|obigen\s+|vorigen\s+|ursprünglichen\s+)?(?:Anweisungen|Instruktionen|Befehle|Regeln)|\b(?:ignora(?:r)?|olvida(?:r)?)\s+(?:todas\s+)?(?:las\s+|tus\s+)?(?:instrucciones|reglas|indicaciones)(?:\s+(?:anteriores|previas))?|\bignora\s+(?:tutte\s+)?(?:le\s+)?istruzioni(?:\s+precedenti)?|\b(?:ignore|ignora|esqueça)\s+(?:todas\s+)?(?:as\s+)?(?:instruções|regras)(?:\s+(?:anteriores|prévias))?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex IgnoreOtherLanguages();

    [GeneratedRegex(@"\b(?:reveal|show|print|display|output|repeat|recite|tell|give|share|leak|dump|expose|write\s+out|spell\s+out|paste|provide|return|list|what\s+(?:is|are|were|was)|what's)\s+(?:\w+\s+){0,3}?(?:your|the|its|ur)\s+(?:(?:full|entire|complete|exact|original|initial|hidden|secret|internal|verbatim|first|above|real|underlying|confidential)\s+){0,3}(?:system\s*prompts?|system\s+messages?|system\s+instructions|initial\s+(?:prompt|instructions)|hidden\s+(?:prompt|instructions|rules)|secret\s+(?:prompt|instructions|rules)|original\s+(?:prompt|instructions)|instructions\s+(?:you\s+were|you've\s+been)\s+given|prompt\s+above|developer\s+(?:message|prompt|instructions)|pre-?prompt|meta-?prompt|internal\s+(?:rules|instructions|guidelines))\b|\b(?:reveal|show|print|display|repeat|output|dump|leak|recite|list)\s+(?:me\s+)?(?:all\s+)?(?:your|ur)\s+(?:(?:full|exact|original|initial|hidden|secret|internal)\s+)*(?:instructions|rules|prompt|guidelines|directives|configuration)\b|\b(?:repeat|print|output|recite|copy)\s+(?:(?:the|all|everything|every)\s+)?(?:words?|text|lines?|content|everything)\s+(?:(?:written|that\s+(?:is|was)|you\s+(?:saw|see))\s+)?(?:above|before\s+(?:this|my)\s+(?:message|line)|at\s+the\s+(?:top|beginning))|\bwhat\s+(?:were\s+you|have\s+you\s+been)\s+(?:told|instructed|programmed)\s+(?:to\s+do\s+)?(?:before|above|initially|at\s+the\s+start)|\bstarting\s+with\s+[""']you\s+are", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Reveal();

    [GeneratedRegex(@"\b(?:pretend|imagine|act|roleplay|role-play|behave|respond|answer|play\s+the\s+role)\s+(?:that\s+)?(?:you\s+are|you're|to\s+be|as(?:\s+if\s+you\s+were)?|of)\s+(?:\w+[\s,]+){0,5}?(?:(?:un|non-?)(?:restricted|filtered|censored|ethical|moderated|aligned)|evil|jailbroken|amoral|immoral|without\s+(?:any\s+)?(?:rules|restrictions|limits|limitations|filters|guidelines|ethics|morals|censorship)|with\s+no\s+(?:rules|restrictions|limits|limitations|filters|guidelines|ethics|morals)|not\s+bound\s+by|free\s+(?:from|of)\s+(?:all\s+|any\s+)?(?:rules|restrictions|guidelines|constraints)|no\s+longer\s+bound)|\byou\s+are\s+(?:now\s+|no\s+longer\s+)(?:(?:an?|the|my|in)\s+)?(?:\w+\s+){0,3}?(?:(?:un|non-?)(?:restricted|filtered|censored|ethical|moderated)|jailbroken|evil|free|bound|limited|restricted|required|an?\s+ai|chatgpt|claude|assistant|dan\b|developer\s+mode|god\s+mode)|\b(?:enable|enter|activate|switch\s+to|turn\s+on)\s+(?:the\s+)?(?:developer|debug|admin|god|dan|jailbreak|unrestricted|evil|sudo)\s+mode\b|\bdo\s+anything\s+now\b|\bdeveloper\s+mode\s+(?:enabled|output|activated)|\bjailbr(?:eak|oken)\b|\b(?:you|yourself)\s+(?:have|has|with)\s+(?:been\s+)?(?:freed|liberated|no\s+(?:ethical|moral)\s+(?:guidelines|constraints|limits|boundaries))|\bno\s+(?:ethical|moral)\s+(?:guidelines|constraints|boundaries|restrictions)\s+(?:apply|anymore)|\bfrom\s+now\s+on,?\s+you\s+(?:will|are|must|shall)\s+(?:\w+\s+){0,4}?(?:ignore|disregard|without|not\s+(?:follow|refuse)|never\s+refuse|answer\s+(?:anything|everything|all))|\b(?:never|don't|do\s+not)\s+refuse\s+(?:any\s+)?(?:request|question|anything)|\bstay\s+in\s+character\s+(?:no\s+matter|at\s+all\s+costs|whatever)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RoleOverride();

    [GeneratedRegex(@"\bDAN\b(?:\s+(?:mode|prompt|jailbreak)|,?\s+(?:which|who)\s+stands\s+for|\s+can\s+do\s+anything)|\bSTAN\b\s+(?:which|mode)|\bAIM\s+stands\s+for", RegexOptions.CultureInvariant)]
    private static partial Regex Dan();

    [GeneratedRegex(@"<\|(?:im_start|im_end|im_sep|system|user|assistant|begin_of_text|end_of_text|start_header_id|end_header_id|eot_id|eom_id|endoftext|python_tag|channel|message|start|end|return|constrain|fim_prefix|fim_middle|fim_suffix|tool_call|tool_response|header_start|header_end|eot)\|>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>|<｜(?:begin▁of▁sentence|end▁of▁sentence|User|Assistant|tool▁calls▁begin)｜>|<\|[a-z_]{2,24}\|>|\[/?(?:SYSTEM_PROMPT|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS)\]", RegexOptions.CultureInvariant)]
    private static partial Regex TemplateToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{24,}={0,2}", RegexOptions.CultureInvariant)]
    private static partial Regex Base64Run();

    [GeneratedRegex(@"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]?){16,}", RegexOptions.CultureInvariant)]
    private static partial Regex HexRun();
}
