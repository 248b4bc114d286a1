namespace Cria.Hub;

/// <summary>
/// A problem with what was asked of the model store — a bad name, digest, Modelfile or file, a missing
/// model, a blob whose content does not match its digest — reported as one sentence that names what
/// was wrong and where. Anything else thrown from Cria.Hub is an I/O failure or a bug.
/// </summary>
public class HubException : Exception
{
    public HubException()
    {
    }

    public HubException(string message)
        : base(message)
    {
    }

    public HubException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No model by that name in the store (and, for <see cref="Store.ModelStore.Resolve"/>, no such file).</summary>
public sealed class ModelNotFoundException : HubException
{
    public ModelNotFoundException()
    {
    }

    public ModelNotFoundException(string message)
        : base(message)
    {
    }

    public ModelNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Content whose SHA-256 is not the digest it was stored or fetched under.</summary>
public sealed class DigestMismatchException : HubException
{
    public DigestMismatchException()
    {
    }

    public DigestMismatchException(string message)
        : base(message)
    {
    }

    public DigestMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
