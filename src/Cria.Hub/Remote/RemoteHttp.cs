using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Cria.Hub.Remote;

/// <summary>How a request follows redirects.</summary>
internal enum RedirectMode
{
    /// <summary>Return the redirect itself (its headers are what is wanted).</summary>
    None,

    /// <summary>Follow redirects that stay on the same origin (a renamed repository), return others.</summary>
    SameOrigin,

    /// <summary>Follow every redirect (to a CDN), up to ten.</summary>
    Any,
}

/// <summary>
/// HTTP for pulls and pushes, over one <see cref="HttpClient"/>: redirects followed by hand (at most ten,
/// never from https down to http without --insecure, the token dropped as soon as a hop leaves its
/// origin), timeouts on connecting, on headers and on every body read, bodies read only up to a limit,
/// errors turned into one-line <see cref="HubException"/>s — or <see cref="TransientException"/> for
/// what a retry may fix — that never contain a token or a signed URL's query.
/// </summary>
internal sealed class RemoteHttp : IDisposable
{
    private const int MaxRedirects = 10;
    private const int MaxErrorBodyBytes = 4096;
    private readonly HttpClient _client;
    private readonly PullOptions _options;
    private readonly Uri _origin;
    private readonly string? _token;

    /// <param name="origin">The registry or endpoint; <paramref name="token"/> is sent only to URLs of this origin.</param>
    public RemoteHttp(PullOptions options, Uri origin, string? token)
    {
        _options = options;
        _origin = origin;
        _token = string.IsNullOrEmpty(token) ? null : token;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.RequestTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxResponseHeadersLength = 64,
            UseCookies = false,
            MaxConnectionsPerServer = 32,
        };
        _client = new HttpClient(handler) { Timeout = options.RequestTimeout };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("cria", "0.1"));
    }

    public PullOptions Options => _options;

    /// <summary>Sends a request (a new message per hop) and returns once the headers are in.</summary>
    /// <exception cref="TransientException">No connection, a timeout before the headers, a reset.</exception>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, Action<HttpRequestMessage>? configure, RedirectMode redirects,
        CancellationToken cancel, Func<HttpContent>? content = null)
    {
        Uri current = url;
        for (int hop = 0; ; hop++)
        {
            RemoteAddress.Check(current, _options.Insecure);
            using var request = new HttpRequestMessage(method, current);
            configure?.Invoke(request);
            if (content is not null)
            {
                request.Content = content();
            }
            if (_token is not null && RemoteAddress.SameOrigin(current, _origin))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            }
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new TransientException($"{RemoteAddress.Show(current)}: {e.Message}", e);
            }
            catch (OperationCanceledException e) when (!cancel.IsCancellationRequested)
            {
                throw new TransientException($"{RemoteAddress.Show(current)}: no response within {_options.RequestTimeout.TotalSeconds:F0} s", e);
            }
            int status = (int)response.StatusCode;
            bool redirect = status is 301 or 302 or 303 or 307 or 308;
            if (!redirect || redirects == RedirectMode.None)
            {
                return response;
            }
            Uri? location = response.Headers.Location;
            if (location is null)
            {
                response.Dispose();
                throw new HubException($"{RemoteAddress.Show(current)} answered {status} without a Location header");
            }
            Uri next = location.IsAbsoluteUri ? location : new Uri(current, location);
            if (redirects == RedirectMode.SameOrigin && !RemoteAddress.SameOrigin(next, current))
            {
                return response;
            }
            response.Dispose();
            if (hop >= MaxRedirects)
            {
                throw new HubException($"{RemoteAddress.Show(url)}: more than {MaxRedirects} redirects");
            }
            if (current.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps && !_options.Insecure)
            {
                throw new HubException($"{RemoteAddress.Show(current)} redirected from https to {next.Scheme}; refusing (use --insecure if you trust the network)");
            }
            if (status == 303 && method != HttpMethod.Head)
            {
                method = HttpMethod.Get;
                content = null;
            }
            current = next;
        }
    }

    /// <summary>GETs a small body (JSON, a manifest, a README) with retries, refusing more than <paramref name="maxBytes"/>.</summary>
    /// <exception cref="RemoteStatusException">A non-retryable HTTP error (404…).</exception>
    public Task<(byte[] Body, HttpResponseHeaders Headers)> GetBytesAsync(Uri url, int maxBytes, string what, string? accept, CancellationToken cancel) =>
        RetryAsync(what, async c =>
        {
            using HttpResponseMessage r = await SendAsync(HttpMethod.Get, url, req =>
            {
                if (accept is not null)
                {
                    req.Headers.Accept.ParseAdd(accept);
                }
            }, RedirectMode.Any, c).ConfigureAwait(false);
            await ThrowForStatusAsync(r, what, c).ConfigureAwait(false);
            byte[] body = await ReadLimitedAsync(r, maxBytes, what, c).ConfigureAwait(false);
            return (body, r.Headers);
        }, cancel);

    /// <summary>GETs JSON into a source-generated type (size and depth bounded by the caller's limit and context).</summary>
    public async Task<T> GetJsonAsync<T>(Uri url, int maxBytes, string what, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancel)
    {
        (byte[] body, _) = await GetBytesAsync(url, maxBytes, what, "application/json", cancel).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(body, type) ?? throw new HubException($"{what}: the answer is JSON null");
        }
        catch (JsonException e)
        {
            throw new HubException($"{what}: the answer is not the JSON expected ({e.Message})", e);
        }
    }

    /// <summary>Runs an attempt, retrying <see cref="TransientException"/>s with exponential backoff (bounded by <see cref="PullOptions.MaxRetries"/>).</summary>
    public async Task<T> RetryAsync<T>(string what, Func<CancellationToken, Task<T>> attempt, CancellationToken cancel)
    {
        for (int failures = 0; ;)
        {
            try
            {
                return await attempt(cancel).ConfigureAwait(false);
            }
            catch (TransientException e)
            {
                failures++;
                if (failures > _options.MaxRetries)
                {
                    throw new HubException($"{what} failed after {failures} attempts: {e.Message}", e);
                }
                await Task.Delay(Backoff(failures, e.RetryAfter), cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The wait before retry number <paramref name="failures"/>: the server's Retry-After (capped), else doubling from <see cref="PullOptions.RetryDelay"/>.</summary>
    public TimeSpan Backoff(int failures, TimeSpan? retryAfter)
    {
        if (retryAfter is TimeSpan ra && ra > TimeSpan.Zero)
        {
            return ra < _options.MaxRetryDelay ? ra : _options.MaxRetryDelay;
        }
        double ms = _options.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16));
        return TimeSpan.FromMilliseconds(Math.Min(ms, _options.MaxRetryDelay.TotalMilliseconds));
    }

    /// <summary>Returns for 2xx; throws <see cref="TransientException"/> for 408, 425, 429 and 5xx, else <see cref="RemoteStatusException"/> with the server's error message when it sent one.</summary>
    public static async Task ThrowForStatusAsync(HttpResponseMessage r, string what, CancellationToken cancel)
    {
        int status = (int)r.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }
        string detail = await ErrorDetailAsync(r, cancel).ConfigureAwait(false);
        string url = r.RequestMessage?.RequestUri is Uri u ? RemoteAddress.Show(u) : "the server";
        string text = $"{what}: {url} answered {status} {r.ReasonPhrase}{detail}";
        if (status is 408 or 425 or 429 or >= 500)
        {
            TimeSpan? retryAfter = r.Headers.RetryAfter?.Delta
                ?? (r.Headers.RetryAfter?.Date is DateTimeOffset d ? d - DateTimeOffset.UtcNow : null);
            throw new TransientException(text) { RetryAfter = retryAfter };
        }
        string hint = status switch
        {
            401 => " (a token is needed: HF_TOKEN for Hugging Face, --token or CRIA_HUB_TOKEN for a Cria hub)",
            403 => " (the token is not allowed to do this)",
            _ => "",
        };
        throw new RemoteStatusException(status, detail.Length > 0 ? text : text + hint);
    }

    /// <summary>Reads a whole body, at most <paramref name="maxBytes"/>, each read bounded by <see cref="PullOptions.ReadTimeout"/>.</summary>
    public async Task<byte[]> ReadLimitedAsync(HttpResponseMessage r, int maxBytes, string what, CancellationToken cancel)
    {
        long? declared = r.Content.Headers.ContentLength;
        if (declared > maxBytes)
        {
            throw new HubException($"{what}: the answer is {declared:N0} bytes; at most {maxBytes:N0} are accepted");
        }
        using var body = new MemoryStream(declared is long d ? (int)d : 4096);
        Stream s = await r.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int n;
            while ((n = await ReadAsync(s, buffer, cancel).ConfigureAwait(false)) > 0)
            {
                if (body.Length + n > maxBytes)
                {
                    throw new HubException($"{what}: the answer is longer than {maxBytes:N0} bytes; at most {maxBytes:N0} are accepted");
                }
                body.Write(buffer, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (declared is long expected && body.Length != expected)
        {
            throw new TransientException($"{what}: the answer ended after {body.Length:N0} of {expected:N0} bytes");
        }
        return body.ToArray();
    }

    /// <summary>One read from a response body, bounded by <see cref="PullOptions.ReadTimeout"/>; a reset or a stall is transient.</summary>
    public async ValueTask<int> ReadAsync(Stream s, Memory<byte> buffer, CancellationToken cancel)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        idle.CancelAfter(_options.ReadTimeout);
        try
        {
            return await s.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new TransientException($"no data for {_options.ReadTimeout.TotalSeconds:F0} s", e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TransientException($"connection lost: {e.Message}", e);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The server's error message from a small JSON error body (registry <c>errors[0].message</c> or <c>error</c>), as " (…)".</summary>
    private static async Task<string> ErrorDetailAsync(HttpResponseMessage r, CancellationToken cancel)
    {
        try
        {
            if (r.Content.Headers.ContentLength is > MaxErrorBodyBytes)
            {
                return "";
            }
            Stream s = await r.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
            byte[] buffer = new byte[MaxErrorBodyBytes];
            int total = 0;
            int n;
            while (total < buffer.Length && (n = await s.ReadAsync(buffer.AsMemory(total), cancel).ConfigureAwait(false)) > 0)
            {
                total += n;
            }
            using JsonDocument doc = JsonDocument.Parse(buffer.AsMemory(0, total), new JsonDocumentOptions { MaxDepth = 8 });
            string? message = null;
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (doc.RootElement.TryGetProperty("errors", out JsonElement errors) && errors.ValueKind == JsonValueKind.Array
                    && errors.GetArrayLength() > 0 && errors[0].ValueKind == JsonValueKind.Object
                    && errors[0].TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String)
                {
                    message = m.GetString();
                }
                else if (doc.RootElement.TryGetProperty("error", out JsonElement e) && e.ValueKind == JsonValueKind.String)
                {
                    message = e.GetString();
                }
            }
            if (string.IsNullOrWhiteSpace(message))
            {
                return "";
            }
            message = Digest.Printable(message.Length > 300 ? message[..300] + "…" : message);
            return string.Create(CultureInfo.InvariantCulture, $" ({message})");
        }
        catch (Exception e) when (e is JsonException or IOException or HttpRequestException or OperationCanceledException)
        {
            return "";
        }
    }
}
