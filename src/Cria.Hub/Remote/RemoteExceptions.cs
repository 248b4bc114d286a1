namespace Cria.Hub.Remote;

/// <summary>A registry or hub answered with an HTTP error that retrying will not fix (401, 403, 404, 400…).</summary>
public sealed class RemoteStatusException : HubException
{
    public RemoteStatusException()
    {
    }

    public RemoteStatusException(string message)
        : base(message)
    {
    }

    public RemoteStatusException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RemoteStatusException(int status, string message)
        : base(message) => Status = status;

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }
}

/// <summary>A failure worth retrying: a dropped connection, a timeout, 408/429/5xx. Never escapes the Remote classes.</summary>
internal sealed class TransientException : Exception
{
    public TransientException()
    {
    }

    public TransientException(string message)
        : base(message)
    {
    }

    public TransientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The server's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
