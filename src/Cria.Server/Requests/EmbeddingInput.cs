namespace Cria.Server.Requests;

/// <summary>One text to embed: either text for the model's tokenizer or token ids given by the client.</summary>
internal readonly record struct EmbeddingInput(string? Text, int[]? Tokens);
