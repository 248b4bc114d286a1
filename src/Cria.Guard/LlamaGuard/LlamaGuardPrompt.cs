using System.Text;

namespace Cria.Guard.LlamaGuard;

/// <summary>One turn of the conversation the classifier judges; <see cref="Role"/> is <c>user</c> or <c>assistant</c>.</summary>
public readonly record struct GuardTurn(string Role, string Content);

/// <summary>
/// Builds the Llama Guard 3/4 classifier text as Llama Stack's <c>llama_guard.py</c> does (GOVERNANCE §2.2): the
/// task sentence naming the role of the last turn, the enabled categories as <c>S&lt;n&gt;: &lt;name&gt;.</c>, the
/// turns as <c>Role: content</c> separated by blank lines, and the closing instruction. The result is sent as
/// one user message through the guard model's own chat template, which the host applies.
/// </summary>
public static class LlamaGuardPrompt
{
    /// <summary>The text for <paramref name="turns"/> (at least one) under <paramref name="categories"/> (codes S1–S14).</summary>
    public static string Build(IReadOnlyList<GuardTurn> turns, IReadOnlyList<string> categories)
    {
        ArgumentNullException.ThrowIfNull(turns);
        ArgumentNullException.ThrowIfNull(categories);
        if (turns.Count == 0)
        {
            throw new ArgumentException("the conversation has no turns", nameof(turns));
        }
        string agent = RoleName(turns[^1].Role);
        var sb = new StringBuilder();
        sb.Append("Task: Check if there is unsafe content in '").Append(agent)
          .Append("' messages in conversations according our safety policy with the below categories.\n\n");
        sb.Append("<BEGIN UNSAFE CONTENT CATEGORIES>\n");
        foreach (string code in categories)
        {
            sb.Append(code).Append(": ").Append(LlamaGuardCategories.NameOf(code)).Append(".\n");
        }
        sb.Append("<END UNSAFE CONTENT CATEGORIES>\n\n");
        sb.Append("<BEGIN CONVERSATION>\n\n");
        for (int i = 0; i < turns.Count; i++)
        {
            if (i > 0)
            {
                sb.Append("\n\n");
            }
            sb.Append(RoleName(turns[i].Role)).Append(": ").Append(turns[i].Content);
        }
        sb.Append("\n\n<END CONVERSATION>\n\n");
        sb.Append("Provide your safety assessment for ONLY THE LAST ").Append(agent).Append(" message in the above conversation:\n");
        sb.Append(" - First line must read 'safe' or 'unsafe'.\n");
        sb.Append(" - If unsafe, a second line must include a comma-separated list of violated categories.");
        return sb.ToString();
    }

    /// <summary><c>user</c> → <c>User</c>, <c>assistant</c> → <c>Assistant</c>; any other role is refused.</summary>
    public static string RoleName(string role) => role switch
    {
        _ when string.Equals(role, "user", StringComparison.OrdinalIgnoreCase) => "User",
        _ when string.Equals(role, "assistant", StringComparison.OrdinalIgnoreCase) => "Assistant",
        _ => throw new ArgumentException($"a Llama Guard conversation holds user and assistant turns, not \"{role}\"", nameof(role)),
    };
}
