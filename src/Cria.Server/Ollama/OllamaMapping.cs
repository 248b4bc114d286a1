using System.Globalization;
using System.Text.Json;

using Cria.Core.Inference;
using Cria.Core.Sampling;
using Cria.Server.Http;
using Cria.Server.Requests;
using Cria.Server.Structured;
using Cria.Templates;

namespace Cria.Server.Ollama;

/// <summary>
/// Ollama's requests → Cria's <see cref="GenerationRequest"/>. Ollama's names (<c>num_predict</c>,
/// <c>repeat_last_n</c>) and conventions (<c>num_predict</c> −1: until the end; model names with a
/// <c>:latest</c> tag) are resolved here; NaN, infinite or out-of-range values are a 400.
/// </summary>
internal static class OllamaMapping
{
    /// <summary>"name:latest" → "name": Ollama clients add the default tag; Cria's names have none.</summary>
    public static string? ModelName(string? model) =>
        model is not null && model.EndsWith(":latest", StringComparison.Ordinal) ? model[..^":latest".Length] : model;

    public static GenerationRequest ToRequest(OllamaChatRequest body)
    {
        if (body.Messages is not { Count: > 0 } messages)
        {
            throw ApiException.BadRequest("'messages' must be a non-empty array", "messages");
        }
        ToolRequest? tools = ToolRequest.Parse(body.Tools, null);
        var chat = new List<ChatMessage>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            OllamaMessage m = messages[i];
            if (m.Role is not ("system" or "user" or "assistant" or "tool"))
            {
                throw ApiException.BadRequest($"messages[{i}].role must be system, user, assistant or tool, got \"{m.Role}\"", "messages");
            }
            if (m.Images is { Count: > 0 })
            {
                throw ApiException.BadRequest("images are not supported", "messages");
            }
            chat.Add(new ChatMessage(m.Role, m.Content ?? "")
            {
                ToolCalls = m.ToolCalls is { ValueKind: JsonValueKind.Array } calls ? calls : null,
                Name = m.ToolName,
            });
        }
        return WithFormat(FromOptions(body.Model, body.Options), body.Format) with
        {
            Messages = chat,
            Tools = tools,
            KeepAlive = KeepAlive(body.KeepAlive),
            Logprobs = Logprobs(body.Logprobs, body.TopLogprobs),
        };
    }

    public static GenerationRequest ToRequest(OllamaGenerateRequest body)
    {
        if (body.Images is { Count: > 0 })
        {
            throw ApiException.BadRequest("images are not supported", "images");
        }
        if (!string.IsNullOrEmpty(body.Suffix))
        {
            throw ApiException.BadRequest("suffix is not supported yet", "suffix");
        }
        GenerationRequest request = WithFormat(FromOptions(body.Model, body.Options), body.Format) with
        {
            KeepAlive = KeepAlive(body.KeepAlive),
            Logprobs = Logprobs(body.Logprobs, body.TopLogprobs),
            Context = body.Context is { Count: > 0 } context ? context : null,
        };
        if (body.Raw == true)
        {
            return request with { Prompt = body.Prompt ?? "" };
        }
        var chat = new List<ChatMessage>(2);
        if (!string.IsNullOrEmpty(body.System))
        {
            chat.Add(ChatMessage.System(body.System));
        }
        chat.Add(ChatMessage.User(body.Prompt ?? ""));
        return request with { Messages = chat };
    }

    /// <summary>Ollama's done_reason; an engine failure is "error" (followed by an error line), never a normal stop.</summary>
    /// <summary>The run's done_reason: <c>content_filter</c> when a guard rail stopped it.</summary>
    public static string DoneReason(Engine.GenerationRun run) => run.Filtered ? "content_filter" : DoneReason(run.Stats.FinishReason);

    public static string DoneReason(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.Error => "error",
        _ => "stop",
    };

    private static int? Logprobs(bool? logprobs, int? top)
    {
        if (top is < 0 or > TokenLogprob.MaxTop)
        {
            throw ApiException.BadRequest($"top_logprobs must be between 0 and {TokenLogprob.MaxTop}, got {top}", "top_logprobs");
        }
        return logprobs == true || top > 0 ? top ?? 0 : null;
    }

    /// <summary>
    /// The longest duration a request or option may give (100 years): longer ones are clamped to it
    /// where they are parsed, so adding one to a time can never overflow (9223372036854775807 s or 1e30
    /// mean "keep it loaded", not an exception when the lease ends).
    /// </summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(100 * 365);

    /// <summary>
    /// Ollama's <c>keep_alive</c>: a number of seconds, or a Go duration string ("5m", "1h30m", "300ms",
    /// "-1"); negative keeps the model loaded, 0 unloads it after the request. Null: the server's default.
    /// </summary>
    public static TimeSpan? KeepAlive(JsonElement? value)
    {
        if (value is not { } v || v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double seconds) && double.IsFinite(seconds))
        {
            return seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(Math.Min(seconds, MaxDuration.TotalSeconds));
        }
        if (v.ValueKind == JsonValueKind.String && ParseDuration(v.GetString()!) is { } duration)
        {
            return duration < TimeSpan.Zero ? Timeout.InfiniteTimeSpan : duration;
        }
        throw ApiException.BadRequest($"keep_alive must be a duration such as \"5m\" or \"1h30m\", a number of seconds, or -1, got {v.GetRawText()}", "keep_alive");
    }

    /// <summary>A Go <c>time.Duration</c> string (units ns us µs ms s m h), or a bare integer of seconds as Ollama also accepts; null when malformed.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        if (text.Length is 0 or > 64)
        {
            return null;
        }
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long whole))
        {
            return whole < 0 ? TimeSpan.FromSeconds(-1) : TimeSpan.FromSeconds(Math.Min(whole, (long)MaxDuration.TotalSeconds));
        }
        int i = 0;
        bool negative = false;
        if (text[0] is '-' or '+')
        {
            negative = text[0] == '-';
            i = 1;
        }
        double totalSeconds = 0;
        bool any = false;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
            {
                return null;
            }
            int unitStart = i;
            while (i < text.Length && !char.IsAsciiDigit(text[i]) && text[i] != '.')
            {
                i++;
            }
            double scale = text[unitStart..i] switch
            {
                "ns" => 1e-9,
                "us" or "µs" or "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => double.NaN,
            };
            if (double.IsNaN(scale))
            {
                return null;
            }
            totalSeconds += number * scale;
            any = true;
        }
        if (!any)
        {
            return null;
        }
        totalSeconds = Math.Min(totalSeconds, MaxDuration.TotalSeconds);
        return TimeSpan.FromSeconds(negative ? -totalSeconds : totalSeconds);
    }

    /// <summary>Ollama's <c>format</c> ("json" or a JSON Schema) as a grammar on the request's sampling.</summary>
    private static GenerationRequest WithFormat(GenerationRequest request, JsonElement? format) =>
        Grammars.FromOllamaFormat(format) is { } grammar ? request with { Sampling = request.Sampling with { Grammar = grammar } } : request;

    private static GenerationRequest FromOptions(string? model, OllamaOptions? options)
    {
        var defaults = new SamplingOptions();
        options ??= new OllamaOptions();
        int? maxTokens = options.NumPredict switch
        {
            null or -1 or -2 => null,
            >= 1 and var n => n,
            var n => throw ApiException.BadRequest($"options.num_predict must be ≥ 1, or -1 for no limit, got {n}", "options.num_predict"),
        };
        var sampling = new SamplingOptions
        {
            Temperature = Range(options.Temperature, "temperature", 0, 100) ?? defaults.Temperature,
            TopP = Math.Max(Range(options.TopP, "top_p", 0, 1) ?? defaults.TopP, 1e-6f),
            TopK = options.TopK is { } k ? (k >= 0 ? k : throw ApiException.BadRequest($"options.top_k must be ≥ 0, got {k}", "options.top_k")) : defaults.TopK,
            MinP = Range(options.MinP, "min_p", 0, 1) ?? defaults.MinP,
            RepeatPenalty = Range(options.RepeatPenalty, "repeat_penalty", 0, 100, openLow: true) ?? defaults.RepeatPenalty,
            PenaltyLastN = options.RepeatLastN is { } n2 ? (n2 >= -1 ? n2 : throw ApiException.BadRequest($"options.repeat_last_n must be ≥ -1, got {n2}", "options.repeat_last_n")) : defaults.PenaltyLastN,
            PresencePenalty = Range(options.PresencePenalty, "presence_penalty", -2, 2) ?? 0,
            FrequencyPenalty = Range(options.FrequencyPenalty, "frequency_penalty", -2, 2) ?? 0,
            Seed = options.Seed is { } seed ? unchecked((ulong)seed) : null,
        };
        if (options.Stop?.Any(s => s.Length == 0) == true)
        {
            throw ApiException.BadRequest("options.stop strings must not be empty", "options.stop");
        }
        return new GenerationRequest { Model = ModelName(model), MaxTokens = maxTokens, Sampling = sampling, Stop = options.Stop };
    }

    private static float? Range(double? value, string name, double low, double high, bool openLow = false)
    {
        if (value is not { } v)
        {
            return null;
        }
        if (!double.IsFinite(v) || v < low || v > high || (openLow && v == low))
        {
            string range = openLow ? $"({low}, {high}]" : $"[{low}, {high}]";
            throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture, $"options.{name} must be in {range}, got {v}"), "options." + name);
        }
        return (float)v;
    }
}
