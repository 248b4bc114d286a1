using Cria.Templates;

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cria.Server.Http;

/// <summary>Writes an error in one dialect's shape; called only before the response has started.</summary>
internal delegate Task ErrorWriter(HttpContext http, ApiException error);

/// <summary>Writes an error into a response that has already started (a stream), in one dialect's shape.</summary>
internal delegate Task StreamErrorWriter(HttpContext http, ApiException error);

/// <summary>
/// Runs an endpoint and turns every failure into the dialect's error: the client's mistakes with
/// their 4xx status, a failing chat template as 500 with the template's line (400 when the template
/// itself rejected the conversation), a client that went away as nothing at all.
/// </summary>
internal static class ApiGuard
{
    public static async Task RunAsync(HttpContext http, ErrorWriter writeError, StreamErrorWriter? writeStreamError, Func<Task> handler)
    {
        ApiException error;
        try
        {
            await handler().ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away; there is nobody to tell
        }
        catch (ApiException e)
        {
            error = e;
        }
        catch (BadHttpRequestException e)
        {
            error = e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? new ApiException(413, $"the request body is larger than the server's limit of {MaxBody(http)} bytes", code: "request_too_large")
                : new ApiException(e.StatusCode, e.Message);
        }
        catch (TemplateException e)
        {
            error = e.Kind == TemplateErrorKind.Raised
                ? new ApiException(400, $"the model's chat template rejected the conversation: {e.Message}", "messages")
                : new ApiException(500, $"the model's chat template failed: {e.Message}", code: "template_error");
        }
        catch (InvalidOperationException e) when (e.InnerException is System.Text.DecoderFallbackException)
        {
            // A JSON string whose escapes decode to no valid text (an unpaired surrogate such as "\ud800").
            error = ApiException.BadRequest("a string in the request body is not valid Unicode (an unpaired surrogate escape?)");
        }
        catch (Grammar.GrammarException e)
        {
            // A grammar that turned out too costly or impossible while generating: the request's doing.
            error = new ApiException(400, $"the output grammar could not be followed: {e.Message}", "response_format", "grammar_error");
        }
        catch (OperationCanceledException)
        {
            error = new ApiException(503, "the server is shutting down") { RetryAfterSeconds = 5 };
        }
        catch (Exception e)
        {
            Logger(http).LogError(e, "request {Path} failed", http.Request.Path);
            error = new ApiException(500, $"internal error: {e.Message}");
        }
        if (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        try
        {
            if (!http.Response.HasStarted)
            {
                http.Response.StatusCode = error.Status;
                if (error.RetryAfterSeconds > 0)
                {
                    http.Response.Headers.RetryAfter = error.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                await writeError(http, error).ConfigureAwait(false);
            }
            else if (writeStreamError is not null)
            {
                await writeStreamError(http, error).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection broke while reporting the error.
        }
    }

    private static long MaxBody(HttpContext http) =>
        http.RequestServices.GetRequiredService<ServerOptions>().MaxRequestBodyBytes;

    private static ILogger Logger(HttpContext http) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Cria.Server");
}
