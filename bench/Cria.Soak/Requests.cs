using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cria.Soak;

/// <summary>The API dialect of a route, which decides how its stream ends.</summary>
internal enum Dialect
{
    /// <summary>Server-sent events: a chunk with a finish_reason, then <c>data: [DONE]</c>.</summary>
    OpenAi,

    /// <summary>Newline-delimited JSON: the last line says <c>"done": true</c>.</summary>
    Ollama,
}

/// <summary>What a malformed request must get back.</summary>
internal enum Expect
{
    /// <summary>A 4xx: the request is wrong and the server must say so.</summary>
    ClientError,

    /// <summary>Anything but a 5xx: the server may clamp the value and answer, or refuse it.</summary>
    NotServerError,
}

/// <summary>One request to send: route, body bytes, the key to send (null: none) and, for a malformed one, what it must get.</summary>
internal sealed record SoakRequest(string Kind, string Path, Dialect Dialect, byte[] Body, bool Stream, string? Key, Expect? Hostile = null);

/// <summary>
/// The soak's request mix: well-formed generations in the four shapes (OpenAI chat and completions, Ollama generate
/// and chat; streaming and not) and malformed requests of the kinds the reliability issue lists — bad JSON, invalid
/// UTF-8, wrong types, huge numbers, deep JSON, a wrong or missing key, an oversized body.
/// </summary>
internal static class Requests
{
    public const string Model = "stories260K";

    private static readonly string[] s_prompts =
    [
        "Once upon a time", "The little dog", "Lily went to the park", "One day, a big bear", "Tom and Sue",
        "There was a tiny bird who", "The sun was hot and", "A boy found a red ball",
    ];

    public static string Prompt(Random rng) => s_prompts[rng.Next(s_prompts.Length)];

    public static SoakRequest OpenAiChat(Random rng, string key, bool stream, int maxTokens)
    {
        string body = Json(w =>
        {
            w.WriteString("model", Model);
            w.WriteStartArray("messages");
            if (rng.Next(3) == 0)
            {
                Message(w, "system", "You tell short stories.");
            }
            Message(w, "user", Prompt(rng));
            w.WriteEndArray();
            w.WriteNumber("max_tokens", maxTokens);
            w.WriteNumber("temperature", Math.Round(rng.NextDouble() * 1.2, 2));
            w.WriteBoolean("stream", stream);
            if (stream && rng.Next(2) == 0)
            {
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }
        });
        return new SoakRequest(stream ? "chat-stream" : "chat", "v1/chat/completions", Dialect.OpenAi, Encoding.UTF8.GetBytes(body), stream, key);
    }

    public static SoakRequest OpenAiCompletion(Random rng, string key, bool stream, int maxTokens)
    {
        string body = Json(w =>
        {
            w.WriteString("model", Model);
            w.WriteString("prompt", Prompt(rng));
            w.WriteNumber("max_tokens", maxTokens);
            w.WriteNumber("temperature", Math.Round(rng.NextDouble() * 1.2, 2));
            w.WriteNumber("seed", rng.Next(1000));
            w.WriteBoolean("stream", stream);
        });
        return new SoakRequest(stream ? "completion-stream" : "completion", "v1/completions", Dialect.OpenAi, Encoding.UTF8.GetBytes(body), stream, key);
    }

    public static SoakRequest OllamaGenerate(Random rng, string key, bool stream, int maxTokens)
    {
        string body = Json(w =>
        {
            w.WriteString("model", Model);
            w.WriteString("prompt", Prompt(rng));
            w.WriteBoolean("stream", stream);
            Options(w, rng, maxTokens);
        });
        return new SoakRequest(stream ? "generate-stream" : "generate", "api/generate", Dialect.Ollama, Encoding.UTF8.GetBytes(body), stream, key);
    }

    public static SoakRequest OllamaChat(Random rng, string key, bool stream, int maxTokens)
    {
        string body = Json(w =>
        {
            w.WriteString("model", Model);
            w.WriteStartArray("messages");
            Message(w, "user", Prompt(rng));
            w.WriteEndArray();
            w.WriteBoolean("stream", stream);
            Options(w, rng, maxTokens);
        });
        return new SoakRequest(stream ? "ollama-chat-stream" : "ollama-chat", "api/chat", Dialect.Ollama, Encoding.UTF8.GetBytes(body), stream, key);
    }

    /// <summary>One malformed request, picked at random from the kinds the reliability issue lists.</summary>
    public static SoakRequest Hostile(Random rng, string key)
    {
        string prompt = Prompt(rng);
        switch (rng.Next(15))
        {
            case 0:
                string whole = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":8}""";
                return Bad("bad-json", "v1/chat/completions", Dialect.OpenAi, Encoding.UTF8.GetBytes(whole[..rng.Next(1, whole.Length - 1)]), key, Expect.ClientError);
            case 1:
                byte[] garbage = new byte[rng.Next(1, 300)];
                rng.NextBytes(garbage);
                garbage[0] = (byte)'{';
                return Bad("garbage", "v1/completions", Dialect.OpenAi, garbage, key, Expect.ClientError);
            case 2:
                (string path, Dialect dialect, string field) = rng.Next(4) switch
                {
                    0 => ("v1/completions", Dialect.OpenAi, "prompt"),
                    1 => ("v1/chat/completions", Dialect.OpenAi, "messages"),
                    2 => ("api/generate", Dialect.Ollama, "prompt"),
                    _ => ("api/chat", Dialect.Ollama, "messages"),
                };
                return Bad("invalid-utf8", path, dialect, InvalidUtf8(field, rng), key, Expect.ClientError);
            case 3:
                return Bad("wrong-type", "v1/chat/completions", Dialect.OpenAi, Utf8($$"""{"model":"{{Model}}","messages":"{{prompt}}"}"""), key, Expect.ClientError);
            case 4:
                return Bad("wrong-type", "v1/completions", Dialect.OpenAi, Utf8($$"""{"model":"{{Model}}","prompt":"{{prompt}}","max_tokens":"ten"}"""), key, Expect.ClientError);
            case 5:
                return Bad("wrong-type", "api/generate", Dialect.Ollama, Utf8($$"""{"model":"{{Model}}","prompt":"{{prompt}}","stream":false,"options":[1,2]}"""), key, Expect.ClientError);
            case 6:
                string huge = rng.Next(3) switch
                {
                    0 => "99999999999999999999",
                    1 => "1e400",
                    _ => "-9223372036854775809",
                };
                return Bad("huge-number", "v1/completions", Dialect.OpenAi, Utf8($$"""{"model":"{{Model}}","prompt":"{{prompt}}","max_tokens":{{huge}}}"""), key, Expect.ClientError);
            case 7:
                string value = rng.Next(2) == 0 ? "1e308" : "-1e308";
                return Bad("huge-number", "v1/chat/completions", Dialect.OpenAi,
                    Utf8($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":4,"temperature":{{value}}}"""), key, Expect.NotServerError);
            case 8:
                string keepAlive = rng.Next(2) == 0 ? "9223372036854775807" : "1e30";
                return Bad("huge-keep-alive", "api/generate", Dialect.Ollama,
                    Utf8($$$"""{"model":"{{{Model}}}","prompt":"{{{prompt}}}","stream":false,"keep_alive":{{{keepAlive}}},"options":{"num_predict":4}}"""), key, Expect.NotServerError);
            case 9:
                int depth = 10_000;
                string deep = new string('[', depth) + new string(']', depth);
                bool ollama = rng.Next(2) == 0;
                return Bad("deep-json", ollama ? "api/generate" : "v1/completions", ollama ? Dialect.Ollama : Dialect.OpenAi,
                    Utf8($$"""{"model":"{{Model}}","stream":false,"prompt":{{deep}}}"""), key, Expect.ClientError);
            case 10:
                var good = OpenAiCompletion(rng, key, stream: false, maxTokens: 4);
                return good with { Kind = "wrong-key", Key = "cria-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), Hostile = Expect.ClientError };
            case 11:
                var chat = OllamaChat(rng, key, stream: false, maxTokens: 4);
                return chat with { Kind = "no-key", Key = null, Hostile = Expect.ClientError };
            case 12:
                string big = new string('a', (3 << 20) / 2);
                return Bad("oversized", "v1/completions", Dialect.OpenAi, Utf8($$"""{"model":"{{Model}}","prompt":"{{big}}"}"""), key, Expect.ClientError);
            case 13:
                return Bad("unknown-model", "v1/chat/completions", Dialect.OpenAi,
                    Utf8($$"""{"model":"no-such-model","messages":[{"role":"user","content":"{{prompt}}"}]}"""), key, Expect.ClientError);
            default:
                return Bad("empty-grammar", "v1/completions", Dialect.OpenAi,
                    Utf8($$"""{"model":"{{Model}}","prompt":"{{prompt}}","max_tokens":4,"grammar":"root ::= "}"""), key, Expect.NotServerError);
        }
    }

    private static SoakRequest Bad(string kind, string path, Dialect dialect, byte[] body, string key, Expect expect) =>
        new(kind, path, dialect, body, Stream: false, key, expect);

    /// <summary>A request whose text field holds bytes that are not UTF-8 (a lone continuation byte, an overlong form, a surrogate).</summary>
    private static byte[] InvalidUtf8(string field, Random rng)
    {
        byte[][] bad = [[0xFF], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]];
        byte[] junk = bad[rng.Next(bad.Length)];
        string open = field == "prompt"
            ? $$"""{"model":"{{Model}}","stream":false,"prompt":"Once """
            : $$"""{"model":"{{Model}}","stream":false,"messages":[{"role":"user","content":"Once """;
        string close = field == "prompt" ? "\"}" : "\"}]}";
        return [.. Utf8(open), .. junk, .. Utf8(close)];
    }

    private static void Options(Utf8JsonWriter w, Random rng, int maxTokens)
    {
        w.WriteStartObject("options");
        w.WriteNumber("num_predict", maxTokens);
        w.WriteNumber("temperature", Math.Round(rng.NextDouble() * 1.2, 2));
        w.WriteEndObject();
    }

    private static void Message(Utf8JsonWriter w, string role, string content)
    {
        w.WriteStartObject();
        w.WriteString("role", role);
        w.WriteString("content", content);
        w.WriteEndObject();
    }

    private static string Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public static string Describe(SoakRequest r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.Kind} POST /{r.Path} ({r.Body.Length} bytes)");
}
