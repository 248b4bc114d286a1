namespace Cria.Guard.LlamaGuard;

/// <summary>
/// The classifier's parsed answer: <c>safe</c>, or <c>unsafe</c> and a second line of comma-separated codes
/// (Llama Stack reads it with <c>^unsafe\n(.*)$</c>). Surrounding whitespace is ignored; anything else is
/// not a classifier answer, which the check's <c>on_error</c> decides.
/// </summary>
public sealed record LlamaGuardAnswer(bool Unsafe, IReadOnlyList<string> Categories)
{
    public static LlamaGuardAnswer Safe { get; } = new(false, []);

    /// <summary>The answer in <paramref name="text"/>, or null with <paramref name="error"/> saying why it is none.</summary>
    public static LlamaGuardAnswer? TryParse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t == "safe")
        {
            error = null;
            return Safe;
        }
        string[] lines = t.Split('\n');
        if (lines.Length == 2 && lines[0].TrimEnd('\r') == "unsafe")
        {
            var codes = new List<string>();
            foreach (string part in lines[1].Split(','))
            {
                string code = part.Trim();
                if (!LlamaGuardCategories.IsKnown(code))
                {
                    error = $"not a classifier answer: unknown category \"{Clip(code)}\"";
                    return null;
                }
                if (!codes.Contains(code))
                {
                    codes.Add(code);
                }
            }
            error = null;
            return new LlamaGuardAnswer(true, codes);
        }
        error = $"not a classifier answer: \"{Clip(t)}\" (expected 'safe' or 'unsafe' and a line of categories)";
        return null;
    }

    /// <summary>Like <see cref="TryParse"/>, throwing <see cref="FormatException"/> for a text that is no answer.</summary>
    public static LlamaGuardAnswer Parse(string text) => TryParse(text, out string? error) ?? throw new FormatException(error);

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
