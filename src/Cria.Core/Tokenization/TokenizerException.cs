namespace Cria.Core.Tokenization;

/// <summary>A tokenizer description (GGUF metadata or tokenizer.json) that cannot be used; the message names the source and what is wrong.</summary>
public sealed class TokenizerException : Exception
{
    public TokenizerException()
    {
    }

    public TokenizerException(string message)
        : base(message)
    {
    }

    public TokenizerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
