namespace Cria.Server.Http;

/// <summary>
/// A request the server refuses, with the HTTP status and OpenAI's error fields
/// (<c>type</c>, <c>code</c>, <c>param</c>); each dialect writes it in its own error shape.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException()
        : this(500, "server error")
    {
    }

    public ApiException(string message)
        : this(400, message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = 500;
        Type = "server_error";
    }

    public ApiException(int status, string message, string? param = null, string? code = null, string? type = null)
        : base(message)
    {
        Status = status;
        Param = param;
        Code = code;
        Type = type ?? status switch
        {
            401 => "authentication_error",
            404 => "invalid_request_error",
            429 => "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };
    }

    public int Status { get; }

    public string Type { get; }

    public string? Param { get; }

    public string? Code { get; }

    /// <summary>Seconds a client should wait before retrying (sent as <c>Retry-After</c>), or 0.</summary>
    public int RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string message, string? param = null) => new(400, message, param);
}
