using System.Text.Json;
using System.Text.Json.Serialization;

using Cria.Server.Http;

namespace Cria.Server.OpenAi;

// OpenAI's request bodies (https://platform.openai.com/docs/api-reference/chat/create), with the
// fields Cria reads; unknown fields are ignored as OpenAI-compatible servers do. Names are snake_case
// through the context's naming policy.

/// <summary>Sampling fields shared by chat and text completions, plus llama.cpp's common extensions.</summary>
internal abstract class OpenAiSamplingFields
{
    public string? Model { get; set; }
    public int? MaxTokens { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? TopK { get; set; }
    public double? MinP { get; set; }
    public double? RepeatPenalty { get; set; }
    public long? Seed { get; set; }

    [JsonConverter(typeof(StringListConverter))]
    public List<string>? Stop { get; set; }

    public double? PresencePenalty { get; set; }
    public double? FrequencyPenalty { get; set; }
    public Dictionary<string, double>? LogitBias { get; set; }
    public int? N { get; set; }

    /// <summary>llama.cpp's extension: a GBNF grammar the output must follow.</summary>
    public string? Grammar { get; set; }

    /// <summary>Cria's extension: a LoRA adapter name (or an array of names) served with <c>--adapter NAME=FILE</c>.</summary>
    [JsonConverter(typeof(StringListConverter))]
    public List<string>? Adapter { get; set; }
    public bool? Stream { get; set; }
    public OpenAiStreamOptions? StreamOptions { get; set; }
}

internal sealed class OpenAiStreamOptions
{
    public bool? IncludeUsage { get; set; }
}

internal sealed class ChatCompletionRequest : OpenAiSamplingFields
{
    public List<ChatMessageDto>? Messages { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
    public JsonElement? Tools { get; set; }
    public JsonElement? ToolChoice { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public JsonElement? ResponseFormat { get; set; }
}

/// <summary>A message; <c>content</c> is a string, an array of content parts, or null.</summary>
internal sealed class ChatMessageDto
{
    public string? Role { get; set; }
    public JsonElement? Content { get; set; }
    public string? Name { get; set; }
    public JsonElement? ToolCalls { get; set; }
    public string? ToolCallId { get; set; }
}

internal sealed class CompletionRequest : OpenAiSamplingFields
{
    /// <summary>A string, an array of one string, or an array of token ids.</summary>
    public JsonElement? Prompt { get; set; }
    public bool? Echo { get; set; }
    public int? Logprobs { get; set; }
    public string? Suffix { get; set; }
    public int? BestOf { get; set; }
}
