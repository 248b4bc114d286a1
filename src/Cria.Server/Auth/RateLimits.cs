using System.Globalization;
using System.Threading.RateLimiting;

using Cria.Server.Http;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Cria.Server.Auth;

/// <summary>
/// <c>--rate-limit N/min</c> with ASP.NET Core's rate limiter: a fixed one-minute window of N requests
/// per caller. A caller is the API key that authenticated the request (the limiter runs after the key
/// middleware) or, on a server without keys, the client's IP address. A key with its own
/// requests-per-minute limit is left to <see cref="QuotaTracker"/>, which enforces that limit (and the
/// key's tokens per minute) over a sliding window, so one key never has two request limits.
/// <c>/health</c> is never limited. A refusal is 429 with <c>Retry-After</c> in the route's dialect.
/// </summary>
internal static class RateLimits
{
    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);

    public static void Add(IServiceCollection services, int requestsPerMinute)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http, requestsPerMinute));
            limiter.OnRejected = (context, _) =>
            {
                int retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan wait)
                    ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))
                    : (int)s_window.TotalSeconds;
                string who = Caller.Of(context.HttpContext).Key is { } key ? $"the key \"{key.Name}\"" : "this client address";
                return new ValueTask(DialectError.WriteAsync(context.HttpContext, new ApiException(429,
                    $"{who} is over the server's rate limit of {requestsPerMinute.ToString(CultureInfo.InvariantCulture)} requests per minute; retry in {retryAfter} s",
                    code: "rate_limit_exceeded")
                {
                    RetryAfterSeconds = retryAfter,
                }));
            };
        });
    }

    public static void Use(WebApplication app) => app.UseRateLimiter();

    private static RateLimitPartition<string> Partition(HttpContext http, int requestsPerMinute)
    {
        if (http.Request.Path.Equals("/health", StringComparison.OrdinalIgnoreCase) || HttpMethods.IsOptions(http.Request.Method))
        {
            return RateLimitPartition.GetNoLimiter("-");
        }
        string partition;
        if (Caller.Of(http).Key is { } key)
        {
            if (key.RequestsPerMinute > 0)
            {
                return RateLimitPartition.GetNoLimiter("-");
            }
            partition = "key:" + key.Name;
        }
        else
        {
            partition = "ip:" + (http.Connection.RemoteIpAddress?.ToString() ?? "?");
        }
        return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = requestsPerMinute,
            Window = s_window,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }
}
