using System.Globalization;
using System.Text;
using System.Text.Json;

using Cria.Core.Inference;
using Cria.Core.Sampling;
using Cria.Grammar;
using Cria.Server.Http;
using Cria.Server.Requests;
using Cria.Server.Structured;
using Cria.Templates;

namespace Cria.Server.OpenAi;

/// <summary>
/// OpenAI's request fields → Cria's <see cref="GenerationRequest"/>, validated on the way: a value
/// out of OpenAI's documented range (or NaN, or infinite) is a 400 that names the field. Fields left
/// out take llama.cpp's sampling defaults, the usual choice for local models.
/// </summary>
internal static class OpenAiMapping
{
    private const int MaxStopStrings = 16;

    public static GenerationRequest ToRequest(ChatCompletionRequest body)
    {
        if (body.Messages is not { Count: > 0 } messages)
        {
            throw ApiException.BadRequest("'messages' must be a non-empty array", "messages");
        }
        int? logprobs = null;
        if (body.TopLogprobs is { } top)
        {
            if (body.Logprobs != true)
            {
                throw ApiException.BadRequest("top_logprobs needs logprobs set to true", "top_logprobs");
            }
            if (top is < 0 or > TokenLogprob.MaxTop)
            {
                throw ApiException.BadRequest($"top_logprobs must be between 0 and {TokenLogprob.MaxTop}, got {top}", "top_logprobs");
            }
        }
        if (body.Logprobs == true)
        {
            logprobs = body.TopLogprobs ?? 0;
        }
        ToolRequest? tools = ToolRequest.Parse(body.Tools, body.ToolChoice);
        CompiledGrammar? format = Grammars.FromResponseFormat(body.ResponseFormat);
        if (format is not null && body.Grammar is not null)
        {
            throw ApiException.BadRequest("give either response_format or grammar, not both", "grammar");
        }
        var chat = new List<ChatMessage>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            chat.Add(ToMessage(messages[i], i));
        }
        int? maxTokens = body.MaxCompletionTokens ?? body.MaxTokens;
        string maxName = body.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens";
        GenerationRequest request = Common(body, maxTokens, maxName);
        if (format is not null)
        {
            request = request with { Sampling = request.Sampling with { Grammar = format } };
        }
        return request with { Messages = chat, Logprobs = logprobs, Tools = tools };
    }

    public static GenerationRequest ToRequest(CompletionRequest body)
    {
        if (body.Echo == true)
        {
            throw ApiException.BadRequest("echo is not supported yet", "echo");
        }
        if (body.Logprobs is < 0 or > TokenLogprob.MaxTop)
        {
            throw ApiException.BadRequest($"logprobs must be between 0 and {TokenLogprob.MaxTop}, got {body.Logprobs}", "logprobs");
        }
        if (!string.IsNullOrEmpty(body.Suffix))
        {
            throw ApiException.BadRequest("suffix is not supported yet", "suffix");
        }
        if (body.BestOf is { } bestOf && bestOf != 1)
        {
            throw ApiException.BadRequest($"only best_of = 1 is supported, got {bestOf}", "best_of");
        }
        GenerationRequest request = Common(body, body.MaxTokens ?? 16, "max_tokens") with { Logprobs = body.Logprobs };
        JsonElement prompt = body.Prompt ?? default;
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return request with { Prompt = prompt.GetString() };
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                return request with { Prompt = prompt[0].GetString() };
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                var ids = new List<int>(prompt.GetArrayLength());
                foreach (JsonElement e in prompt.EnumerateArray())
                {
                    if (!e.TryGetInt32(out int id))
                    {
                        throw ApiException.BadRequest("token ids in 'prompt' must be integers", "prompt");
                    }
                    ids.Add(id);
                }
                return request with { PromptTokens = ids };
            case JsonValueKind.Array when prompt.GetArrayLength() > 1:
                throw ApiException.BadRequest("only one prompt per request is supported", "prompt");
            default:
                throw ApiException.BadRequest("'prompt' must be a string, an array of one string, or an array of token ids", "prompt");
        }
    }

    /// <summary>OpenAI's finish_reason; an engine failure is "error" (as vLLM reports one), never a normal stop.</summary>
    /// <summary>The run's finish reason in OpenAI's words: <c>content_filter</c> when a guard rail stopped it.</summary>
    public static string FinishReasonText(Engine.GenerationRun run) => run.Filtered ? "content_filter" : FinishReasonText(run.Stats.FinishReason);

    public static string FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.Error => "error",
        _ => "stop",
    };

    private static GenerationRequest Common(OpenAiSamplingFields body, int? maxTokens, string maxName)
    {
        if (body.N is { } n && n != 1)
        {
            throw ApiException.BadRequest($"only n = 1 is supported, got {n}", "n");
        }
        if (maxTokens is < 1)
        {
            throw ApiException.BadRequest($"'{maxName}' must be at least 1, got {maxTokens}", maxName);
        }
        var defaults = new SamplingOptions();
        var sampling = new SamplingOptions
        {
            Temperature = Range(body.Temperature, "temperature", 0, 2) ?? defaults.Temperature,
            // top_p = 0 is valid in OpenAI's range; it keeps only the most likely token.
            TopP = Math.Max(Range(body.TopP, "top_p", 0, 1) ?? defaults.TopP, 1e-6f),
            TopK = body.TopK is { } k ? (k >= 0 ? k : throw ApiException.BadRequest($"'top_k' must be ≥ 0, got {k}", "top_k")) : defaults.TopK,
            MinP = Range(body.MinP, "min_p", 0, 1) ?? defaults.MinP,
            RepeatPenalty = Range(body.RepeatPenalty, "repeat_penalty", 0, 10, openLow: true) ?? defaults.RepeatPenalty,
            PresencePenalty = Range(body.PresencePenalty, "presence_penalty", -2, 2) ?? 0,
            FrequencyPenalty = Range(body.FrequencyPenalty, "frequency_penalty", -2, 2) ?? 0,
            Seed = body.Seed is { } seed ? unchecked((ulong)seed) : null,
            LogitBias = LogitBias(body.LogitBias),
        };
        if (body.Grammar is { } gbnf)
        {
            sampling = sampling with { Grammar = Grammars.FromGbnf(gbnf) };
        }
        return new GenerationRequest
        {
            Model = body.Model,
            MaxTokens = maxTokens,
            Sampling = sampling,
            Stop = Stops(body.Stop),
            Adapters = body.Adapter,
        };
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
            throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture, $"'{name}' must be in {range}, got {v}"), name);
        }
        return (float)v;
    }

    private static List<string>? Stops(List<string>? stop)
    {
        if (stop is null)
        {
            return null;
        }
        if (stop.Count > MaxStopStrings)
        {
            throw ApiException.BadRequest($"at most {MaxStopStrings} stop strings are allowed, got {stop.Count}", "stop");
        }
        if (stop.Any(s => s.Length == 0))
        {
            throw ApiException.BadRequest("stop strings must not be empty", "stop");
        }
        return stop;
    }

    private static Dictionary<int, float>? LogitBias(Dictionary<string, double>? bias)
    {
        if (bias is null || bias.Count == 0)
        {
            return null;
        }
        var result = new Dictionary<int, float>(bias.Count);
        foreach ((string key, double value) in bias)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                throw ApiException.BadRequest($"logit_bias keys must be token ids, got \"{key}\"", "logit_bias");
            }
            result[id] = Range(value, "logit_bias", -100, 100)!.Value;
        }
        return result;
    }

    private static ChatMessage ToMessage(ChatMessageDto dto, int index)
    {
        string param = $"messages[{index}]";
        string role = dto.Role switch
        {
            "system" or "developer" => "system",
            "user" or "assistant" or "tool" => dto.Role,
            null => throw ApiException.BadRequest($"{param}.role is missing", param + ".role"),
            _ => throw ApiException.BadRequest($"{param}.role must be system, developer, user, assistant or tool, got \"{dto.Role}\"", param + ".role"),
        };
        string? content = Content(dto.Content, param + ".content");
        if (content is null && role != "assistant")
        {
            throw ApiException.BadRequest($"{param}.content is missing", param + ".content");
        }
        return new ChatMessage(role, content)
        {
            Name = dto.Name,
            ToolCalls = dto.ToolCalls is { ValueKind: JsonValueKind.Array } calls ? calls : null,
            ToolCallId = dto.ToolCallId,
        };
    }

    /// <summary>A string, or the text parts of a content array joined; other part types are not supported yet.</summary>
    private static string? Content(JsonElement? content, string param)
    {
        if (content is not { } c || c.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (c.ValueKind == JsonValueKind.String)
        {
            return c.GetString();
        }
        if (c.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest($"{param} must be a string or an array of content parts", param);
        }
        var text = new StringBuilder();
        foreach (JsonElement part in c.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
            {
                throw ApiException.BadRequest($"{param} parts must be objects with a 'type'", param);
            }
            if (type.GetString() != "text")
            {
                throw ApiException.BadRequest($"{param}: content parts of type \"{type.GetString()}\" are not supported (text only)", param);
            }
            if (!part.TryGetProperty("text", out JsonElement t) || t.ValueKind != JsonValueKind.String)
            {
                throw ApiException.BadRequest($"{param}: a text part needs a string 'text'", param);
            }
            text.Append(t.GetString());
        }
        return text.ToString();
    }
}
