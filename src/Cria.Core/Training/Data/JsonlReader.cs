using System.Text.Json;

using Cria.Templates;

namespace Cria.Core.Training.Data;

/// <summary>
/// Reads a JSONL training file: one JSON object per line, blank lines skipped. Each record is one of
/// <c>{"messages": [{"role", "content"}, ...]}</c>, <c>{"prompt", "completion"}</c> or <c>{"text"}</c>
/// (other keys are ignored, as Hugging Face datasets often carry ids). Anything else — bad JSON, a
/// missing or mistyped field, two shapes at once — is a <see cref="DatasetException"/> naming the line.
/// Limits against hostile files: lines up to 16 MiB, nesting depth 16, 1,000,000 records.
/// </summary>
public static class JsonlReader
{
    public const int MaxLineChars = 16 << 20;
    public const int MaxRecords = 1_000_000;

    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 16, CommentHandling = JsonCommentHandling.Disallow };

    public static List<TrainingRecord> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"data file not found: {path}", path);
        }
        var records = new List<TrainingRecord>();
        using var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        int lineNo = 0;
        while (ReadLine(reader, path, lineNo + 1) is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            if (records.Count >= MaxRecords)
            {
                throw new DatasetException(path, lineNo, $"more than {MaxRecords:N0} records");
            }
            records.Add(Parse(line, path, lineNo));
        }
        if (records.Count == 0)
        {
            throw new DatasetException(path, 0, "the file has no records");
        }
        return records;
    }

    private static string? ReadLine(StreamReader reader, string path, int lineNo)
    {
        var sb = new System.Text.StringBuilder();
        int c;
        bool any = false;
        while ((c = reader.Read()) >= 0)
        {
            any = true;
            if (c == '\n')
            {
                break;
            }
            if (sb.Length >= MaxLineChars)
            {
                throw new DatasetException(path, lineNo, $"the line is longer than {MaxLineChars:N0} characters");
            }
            sb.Append((char)c);
        }
        if (!any)
        {
            return null;
        }
        if (sb.Length > 0 && sb[^1] == '\r')
        {
            sb.Length--;
        }
        return sb.ToString();
    }

    /// <summary>One line's record; errors name <paramref name="path"/> and <paramref name="lineNo"/>.</summary>
    public static TrainingRecord Parse(string line, string path, int lineNo)
    {
        ArgumentNullException.ThrowIfNull(line);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line, s_options);
        }
        catch (JsonException e)
        {
            throw new DatasetException(path, lineNo, $"not valid JSON ({Short(e.Message)})");
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            DatasetException Fail(string problem) => new(path, lineNo, problem);
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Fail($"expected a JSON object, got {Kind(root)}");
            }
            bool hasMessages = root.TryGetProperty("messages", out JsonElement messages);
            bool hasPrompt = root.TryGetProperty("prompt", out JsonElement prompt);
            bool hasCompletion = root.TryGetProperty("completion", out JsonElement completion);
            bool hasText = root.TryGetProperty("text", out JsonElement text);
            int shapes = (hasMessages ? 1 : 0) + (hasPrompt || hasCompletion ? 1 : 0) + (hasText ? 1 : 0);
            if (shapes == 0)
            {
                throw Fail("expected \"messages\", \"prompt\" and \"completion\", or \"text\"");
            }
            if (shapes > 1)
            {
                throw Fail("a record has one of \"messages\", \"prompt\"/\"completion\" or \"text\", not several");
            }
            if (hasText)
            {
                return new TrainingRecord(RecordKind.Text, lineNo) { Text = NonEmptyString(text, "text", Fail) };
            }
            if (hasPrompt || hasCompletion)
            {
                if (!hasPrompt || !hasCompletion)
                {
                    throw Fail(hasPrompt ? "\"prompt\" needs a \"completion\"" : "\"completion\" needs a \"prompt\"");
                }
                if (prompt.ValueKind != JsonValueKind.String)
                {
                    throw Fail($"\"prompt\" must be a string, got {Kind(prompt)}");
                }
                return new TrainingRecord(RecordKind.PromptCompletion, lineNo)
                {
                    Prompt = prompt.GetString()!,
                    Completion = NonEmptyString(completion, "completion", Fail),
                };
            }
            return new TrainingRecord(RecordKind.Messages, lineNo) { Messages = ParseMessages(messages, Fail) };
        }
    }

    private static List<ChatMessage> ParseMessages(JsonElement messages, Func<string, DatasetException> fail)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw fail($"\"messages\" must be a non-empty array, got {Kind(messages)}");
        }
        var list = new List<ChatMessage>();
        bool assistant = false;
        int i = 0;
        foreach (JsonElement m in messages.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object)
            {
                throw fail($"messages[{i}] must be an object with \"role\" and \"content\", got {Kind(m)}");
            }
            if (!m.TryGetProperty("role", out JsonElement role) || role.ValueKind != JsonValueKind.String || role.GetString()!.Length == 0)
            {
                throw fail($"messages[{i}] needs a non-empty string \"role\"");
            }
            if (!m.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
            {
                throw fail($"messages[{i}] needs a string \"content\"");
            }
            string r = role.GetString()!;
            if (r is not ("system" or "user" or "assistant" or "tool"))
            {
                throw fail($"messages[{i}] has role \"{Short(r)}\"; expected system, user, assistant or tool");
            }
            assistant |= r == "assistant";
            list.Add(new ChatMessage(r, content.GetString()));
            i++;
        }
        if (!assistant)
        {
            throw fail("the conversation has no assistant message to learn from");
        }
        return list;
    }

    private static string NonEmptyString(JsonElement e, string name, Func<string, DatasetException> fail)
    {
        if (e.ValueKind != JsonValueKind.String)
        {
            throw fail($"\"{name}\" must be a string, got {Kind(e)}");
        }
        string s = e.GetString()!;
        return s.Length > 0 ? s : throw fail($"\"{name}\" is empty");
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Short(string s) => s.Length <= 120 ? s : s[..120] + "…";
}
