namespace Cria.Core.Models;

/// <summary>
/// A model file that is valid GGUF but cannot be run: unsupported architecture or tensor type,
/// a missing or misshapen tensor, inconsistent hyperparameters. The message names the file and what.
/// </summary>
public sealed class ModelException : Exception
{
    public ModelException()
    {
    }

    public ModelException(string message)
        : base(message)
    {
    }

    public ModelException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
