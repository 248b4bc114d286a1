using System.Text.Json.Serialization;

namespace Cria.Server.OpenAi;

// OpenAI's response and chunk shapes. Fields OpenAI always sends are always written, null included
// (finish_reason, logprobs); optional ones are left out when null.

internal sealed class ChatCompletionResponse
{
    public required string Id { get; init; }
    public string Object { get; init; } = "chat.completion";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required List<ChatChoice> Choices { get; init; }
    public required UsageDto Usage { get; init; }
    public string SystemFingerprint { get; init; } = ServerInfo.SystemFingerprint;
}

internal sealed class ChatChoice
{
    public int Index { get; init; }
    public required ChatResponseMessage Message { get; init; }
    public ChoiceLogprobs? Logprobs { get; init; }
    public required string FinishReason { get; init; }
}

internal sealed class ChatResponseMessage
{
    public string Role { get; init; } = "assistant";
    public required string? Content { get; init; }
    public object? Refusal { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<ToolCallDto>? ToolCalls { get; init; }
}

internal sealed class ToolCallDto
{
    /// <summary>Only in stream deltas: which call of the message this delta belongs to.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Index { get; init; }

    public required string Id { get; init; }
    public string Type { get; init; } = "function";
    public required ToolFunctionDto Function { get; init; }
}

internal sealed class ToolFunctionDto
{
    public required string Name { get; init; }

    /// <summary>The arguments as a JSON text (OpenAI sends a string, not an object).</summary>
    public required string Arguments { get; init; }
}

internal sealed class ChatCompletionChunk
{
    public required string Id { get; init; }
    public string Object { get; init; } = "chat.completion.chunk";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public string SystemFingerprint { get; init; } = ServerInfo.SystemFingerprint;
    public required List<ChunkChoice> Choices { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public UsageDto? Usage { get; init; }
}

internal sealed class ChunkChoice
{
    public int Index { get; init; }
    public required ChunkDelta Delta { get; init; }
    public ChoiceLogprobs? Logprobs { get; init; }
    public string? FinishReason { get; init; }
}

internal sealed class ChunkDelta
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Role { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<ToolCallDto>? ToolCalls { get; init; }
}

internal sealed class CompletionResponse
{
    public required string Id { get; init; }
    public string Object { get; init; } = "text_completion";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public string SystemFingerprint { get; init; } = ServerInfo.SystemFingerprint;
    public required List<CompletionChoice> Choices { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public UsageDto? Usage { get; init; }
}

internal sealed class CompletionChoice
{
    public required string Text { get; init; }
    public int Index { get; init; }
    public CompletionLogprobs? Logprobs { get; init; }
    public string? FinishReason { get; init; }
}

/// <summary>A chat choice's <c>logprobs</c>: one entry per generated token.</summary>
internal sealed class ChoiceLogprobs
{
    public required List<TokenLogprobDto> Content { get; init; }
    public object? Refusal { get; init; }
}

internal sealed class TokenLogprobDto
{
    public required string Token { get; init; }
    public required double Logprob { get; init; }
    public required List<int>? Bytes { get; init; }
    public required List<TopLogprobDto> TopLogprobs { get; init; }
}

internal sealed class TopLogprobDto
{
    public required string Token { get; init; }
    public required double Logprob { get; init; }
    public required List<int>? Bytes { get; init; }
}

/// <summary>The legacy completions' <c>logprobs</c>: parallel lists per token, alternatives as token → logprob maps.</summary>
internal sealed class CompletionLogprobs
{
    public required List<string> Tokens { get; init; }
    public required List<double> TokenLogprobs { get; init; }
    public required List<Dictionary<string, double>> TopLogprobs { get; init; }
    public required List<int> TextOffset { get; init; }
}

internal sealed class UsageDto
{
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public int TotalTokens { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PromptTokensDetails? PromptTokensDetails { get; init; }
}

/// <summary>OpenAI's <c>usage.prompt_tokens_details</c>: prompt tokens served from the prefix cache.</summary>
internal sealed class PromptTokensDetails
{
    public int CachedTokens { get; init; }
}

internal sealed class ModelListResponse
{
    public string Object { get; init; } = "list";
    public required List<ModelDto> Data { get; init; }
}

internal sealed class ModelDto
{
    public required string Id { get; init; }
    public string Object { get; init; } = "model";
    public long Created { get; init; }
    public string OwnedBy { get; init; } = "cria";
}

internal sealed class ErrorResponse
{
    public required ErrorBody Error { get; init; }
}

internal sealed class ErrorBody
{
    public required string Message { get; init; }
    public required string Type { get; init; }
    public string? Param { get; init; }
    public string? Code { get; init; }
}
