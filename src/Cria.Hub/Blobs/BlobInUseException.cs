namespace Cria.Hub.Blobs;

/// <summary>
/// A blob's partial download is held by another writer (this process or another): wait for it to
/// finish — the blob then appears in the store — or try again later.
/// </summary>
public sealed class BlobInUseException : IOException
{
    public BlobInUseException()
    {
    }

    public BlobInUseException(string message)
        : base(message)
    {
    }

    public BlobInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
