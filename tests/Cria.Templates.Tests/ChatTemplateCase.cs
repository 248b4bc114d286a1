using System.Text.Json;

using Cria.Core.Tests;

namespace Cria.Templates.Tests;

/// <summary>
/// One case of llama.cpp's tests/test-chat-template.cpp (tests/data/llama.cpp/chat-template-cases.json):
/// a template, its BOS/EOS strings and what llama.cpp's Jinja engine (minja) rendered for the file's
/// fixed conversation. <see cref="ExpectedJinja"/> is null where llama.cpp did not render with Jinja.
/// </summary>
internal sealed record ChatTemplateCase(string Name, string Template, string BosToken, string EosToken, bool SupportedWithJinja, string? ExpectedJinja)
{
    public const string File = "llama.cpp/chat-template-cases.json";

    private static readonly Lazy<(IReadOnlyList<ChatMessage> Messages, bool AddGenerationPrompt, IReadOnlyList<ChatTemplateCase> Cases)> s_file = new(Load);

    /// <summary>The conversation every case renders: system, user, assistant, user, assistant, user.</summary>
    public static IReadOnlyList<ChatMessage> Messages => s_file.Value.Messages;

    public static bool AddGenerationPrompt => s_file.Value.AddGenerationPrompt;

    public static IReadOnlyList<ChatTemplateCase> All => s_file.Value.Cases;

    public static ChatTemplateCase Get(string name) => All.Single(c => c.Name == name);

    private static (IReadOnlyList<ChatMessage>, bool, IReadOnlyList<ChatTemplateCase>) Load()
    {
        using JsonDocument doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(TestData.Path(File)));
        JsonElement root = doc.RootElement;
        List<ChatMessage> messages = [.. root.GetProperty("messages").EnumerateArray()
            .Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()))];
        List<ChatTemplateCase> cases = [.. root.GetProperty("cases").EnumerateArray().Select(c => new ChatTemplateCase(
            c.GetProperty("name").GetString()!,
            c.GetProperty("template").GetString()!,
            c.GetProperty("bos_token").GetString()!,
            c.GetProperty("eos_token").GetString()!,
            c.GetProperty("supported_with_jinja").GetBoolean(),
            c.GetProperty("expected_jinja").GetString()))];
        return (messages, root.GetProperty("add_generation_prompt").GetBoolean(), cases);
    }
}
