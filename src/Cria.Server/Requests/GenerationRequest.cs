using Cria.Core.Sampling;
using Cria.Server.Structured;
using Cria.Templates;

namespace Cria.Server.Requests;

/// <summary>
/// Cria's own form of a generation request, which both API dialects map to after validating their
/// JSON: a conversation (rendered through the model's chat template) or a raw prompt, and how to sample.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>The model's name (file name without extension); null or empty: the first model served.</summary>
    public string? Model { get; init; }

    /// <summary>A conversation; when set, <see cref="Prompt"/> and <see cref="PromptTokens"/> are ignored.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>A raw prompt, tokenized as is (BOS added per the vocabulary, special tokens parsed).</summary>
    public string? Prompt { get; init; }

    /// <summary>A prompt given as token ids.</summary>
    public IReadOnlyList<int>? PromptTokens { get; init; }

    /// <summary>Tokens to generate at most; null: until the context is full.</summary>
    public int? MaxTokens { get; init; }

    public SamplingOptions Sampling { get; init; } = new();

    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>Adapter names asked for besides those in <see cref="Model"/> (<c>base+NAME</c>).</summary>
    public IReadOnlyList<string>? Adapters { get; init; }

    /// <summary>Tools offered to the model (chat only): rendered through the chat template, calls parsed from the answer.</summary>
    public ToolRequest? Tools { get; init; }

    /// <summary>Report log-probabilities with this many alternatives per token (0–20); null: none.</summary>
    public int? Logprobs { get; init; }

    /// <summary>How long the model stays loaded after this request (Ollama's <c>keep_alive</c>); null: the server's default.</summary>
    public TimeSpan? KeepAlive { get; init; }

    /// <summary>Token ids of an earlier exchange put before the prompt (Ollama's <c>context</c> on /api/generate).</summary>
    public IReadOnlyList<int>? Context { get; init; }
}
