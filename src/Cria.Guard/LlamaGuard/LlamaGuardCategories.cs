namespace Cria.Guard.LlamaGuard;

/// <summary>
/// The Llama Guard 3/4 hazard codes S1–S14 and the names Llama Stack's prompt gives them (GOVERNANCE §2.1, the
/// prompt column, not the model cards'). 3-8B knows S14; 3-1B, 3-11B-Vision and 4-12B use S1–S13, the default.
/// </summary>
public static class LlamaGuardCategories
{
    private static readonly string[] s_names =
    [
        "Violent Crimes", "Non-Violent Crimes", "Sex Crimes", "Child Exploitation", "Defamation", "Specialized Advice",
        "Privacy", "Intellectual Property", "Indiscriminate Weapons", "Hate", "Self-Harm", "Sexual Content", "Elections",
        "Code Interpreter Abuse",
    ];

    /// <summary>S1–S13: what every Llama Guard 3/4 model knows.</summary>
    public static IReadOnlyList<string> Default { get; } = [.. Enumerable.Range(1, 13).Select(n => "S" + n)];

    /// <summary>True for <c>S1</c>…<c>S14</c> exactly (upper-case S, no leading zero).</summary>
    public static bool IsKnown(string code) => Number(code) > 0;

    /// <summary>The prompt's name for <paramref name="code"/>; throws for a code that is not S1–S14.</summary>
    public static string NameOf(string code)
    {
        int n = Number(code);
        return n > 0 ? s_names[n - 1] : throw new ArgumentException($"unknown Llama Guard category \"{code}\" (S1–S14)", nameof(code));
    }

    private static int Number(string code)
    {
        if (code is null || code.Length < 2 || code.Length > 3 || code[0] != 'S' || code[1] == '0')
        {
            return 0;
        }
        int n = 0;
        for (int i = 1; i < code.Length; i++)
        {
            if (!char.IsAsciiDigit(code[i]))
            {
                return 0;
            }
            n = n * 10 + (code[i] - '0');
        }
        return n <= s_names.Length ? n : 0;
    }
}
