using System.Text.Json;

namespace Cria.Soak;

/// <summary>
/// Watches a stream's lines for its proper end. OpenAI (SSE): some chunk carries a finish_reason, then
/// <c>data: [DONE]</c> comes. Ollama (NDJSON): a line with <c>"done": true</c>. A finish or done_reason of
/// "error", or an <c>error</c> object in the stream, is an engine error even when the stream ends properly.
/// </summary>
internal sealed class StreamEnd(Dialect dialect)
{
    private bool _finished;
    private bool _done;

    public bool Complete => _done && (_finished || dialect == Dialect.Ollama);

    public bool EngineError { get; private set; }

    public string LastLine { get; private set; } = "";

    public void Feed(string line)
    {
        LastLine = line;
        string payload = line;
        if (dialect == Dialect.OpenAi)
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                return;
            }
            payload = line[5..].Trim();
            if (payload == "[DONE]")
            {
                _done = true;
                return;
            }
        }
        try
        {
            using var doc = JsonDocument.Parse(payload);
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }
            if (root.TryGetProperty("error", out _))
            {
                EngineError = true;
            }
            if (dialect == Dialect.Ollama)
            {
                if (root.TryGetProperty("done", out JsonElement done) && done.ValueKind == JsonValueKind.True)
                {
                    _done = true;
                    EngineError |= root.TryGetProperty("done_reason", out JsonElement reason) && reason.ValueKind == JsonValueKind.String && reason.GetString() == "error";
                }
                return;
            }
            if (root.TryGetProperty("choices", out JsonElement choices) && choices.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement choice in choices.EnumerateArray())
                {
                    if (choice.TryGetProperty("finish_reason", out JsonElement f) && f.ValueKind == JsonValueKind.String)
                    {
                        _finished = true;
                        EngineError |= f.GetString() == "error";
                    }
                }
            }
        }
        catch (JsonException)
        {
            // A line that is not JSON is not an end; the stream is judged by whether its end comes.
        }
    }
}
