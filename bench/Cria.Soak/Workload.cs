using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Cria.Soak;

/// <summary>
/// The soak's clients. Each loops until the deadline, sending one request at a time from the mix below and
/// classifying its answer into the <see cref="Tally"/>. A request in flight at the deadline is finished, not
/// abandoned, so the end of the run cancels nothing; only a request's own timeout (a hang) cuts it short.
/// </summary>
internal sealed class Workload(HttpClient http, string key, Tally tally, int seed)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    /// <summary>Relative weights of the mix: well-formed generations, streams cancelled by the client part-way, malformed requests.</summary>
    private static readonly (string Kind, int Weight)[] s_mix =
    [
        ("chat", 10), ("chat-stream", 10), ("completion", 8), ("completion-stream", 8),
        ("generate", 6), ("generate-stream", 6), ("ollama-chat", 6), ("ollama-chat-stream", 6),
        ("cancel", 10), ("hostile", 20),
    ];

    public async Task RunClientAsync(int client, DateTimeOffset deadline)
    {
        var rng = new Random((seed * 7919) + client);
        int total = s_mix.Sum(m => m.Weight);
        while (DateTimeOffset.UtcNow < deadline)
        {
            int pick = rng.Next(total);
            string kind = s_mix.First(m => (pick -= m.Weight) < 0).Kind;
            int maxTokens = rng.Next(4, 65);
            SoakRequest request = kind switch
            {
                "chat" => Requests.OpenAiChat(rng, key, false, maxTokens),
                "chat-stream" => Requests.OpenAiChat(rng, key, true, maxTokens),
                "completion" => Requests.OpenAiCompletion(rng, key, false, maxTokens),
                "completion-stream" => Requests.OpenAiCompletion(rng, key, true, maxTokens),
                "generate" => Requests.OllamaGenerate(rng, key, false, maxTokens),
                "generate-stream" => Requests.OllamaGenerate(rng, key, true, maxTokens),
                "ollama-chat" => Requests.OllamaChat(rng, key, false, maxTokens),
                "ollama-chat-stream" => Requests.OllamaChat(rng, key, true, maxTokens),
                "cancel" => Cancellable(rng),
                _ => Requests.Hostile(rng, key),
            };
            // A cancelled stream asks for many tokens and is abandoned after a few lines.
            int cancelAfter = kind == "cancel" ? rng.Next(1, 6) : 0;
            await SendAsync(request, cancelAfter);
        }
    }

    private SoakRequest Cancellable(Random rng)
    {
        SoakRequest r = rng.Next(4) switch
        {
            0 => Requests.OpenAiChat(rng, key, true, 200),
            1 => Requests.OpenAiCompletion(rng, key, true, 200),
            2 => Requests.OllamaGenerate(rng, key, true, 200),
            _ => Requests.OllamaChat(rng, key, true, 200),
        };
        return r with { Kind = "cancel-" + r.Kind };
    }

    private async Task SendAsync(SoakRequest r, int cancelAfter)
    {
        tally.Started(r.Kind);
        using var timeout = new CancellationTokenSource(s_timeout);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(r.Path, UriKind.Relative)) { Content = new ByteArrayContent(r.Body) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        // A large body waits for "100 Continue", as curl does past 1 MiB: a server that refuses it by its declared
        // length (413) then answers before the body is sent, instead of closing a connection the client still writes to.
        message.Headers.ExpectContinue = r.Body.Length > (64 << 10) ? true : null;
        if (r.Key is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", r.Key);
        }
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(message, r.Stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            tally.Timeout(Requests.Describe(r));
            return;
        }
        catch (HttpRequestException e)
        {
            tally.Transport($"{Requests.Describe(r)}: {e.Message}");
            return;
        }
        using (response)
        {
            int status = (int)response.StatusCode;
            tally.Status(status);
            try
            {
                if (r.Stream && status == 200)
                {
                    await ReadStreamAsync(r, response, cancelAfter, timeout.Token);
                    return;
                }
                string body = await response.Content.ReadAsStringAsync(timeout.Token);
                Classify(r, status, body);
            }
            catch (OperationCanceledException)
            {
                tally.Timeout(Requests.Describe(r));
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                if (r.Stream)
                {
                    tally.Drop($"{Requests.Describe(r)}: {e.Message}");
                }
                else
                {
                    tally.Transport($"{Requests.Describe(r)}: {e.Message}");
                }
            }
        }
    }

    /// <summary>A complete (non-streamed) answer: its status must fit the request, and a generation must not report an error.</summary>
    private void Classify(SoakRequest r, int status, string body)
    {
        string what = $"{Requests.Describe(r)} → {status} {Clip(body)}";
        if (status >= 500)
        {
            tally.ServerError(what);
            return;
        }
        bool ok = status is >= 200 and < 300;
        switch (r.Hostile)
        {
            case Expect.ClientError when status is < 400 or >= 500:
                tally.Wrong(what + " (wanted a 4xx)");
                return;
            case null when !ok:
                tally.Wrong(what + " (a well-formed request refused)");
                return;
            default:
                break;
        }
        if (ok && ReportsEngineError(r.Dialect, body))
        {
            tally.EngineError(what);
        }
    }

    /// <summary>
    /// Reads a stream to its end (or, for a cancel, until <paramref name="cancelAfter"/> lines and then drops the
    /// connection). A stream is complete when OpenAI's has a finish_reason and then <c>[DONE]</c>, or Ollama's last
    /// line says <c>done: true</c>; one that ends otherwise while the client read on is dropped.
    /// </summary>
    private async Task ReadStreamAsync(SoakRequest r, HttpResponseMessage response, int cancelAfter, CancellationToken cancel)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel), Encoding.UTF8);
        var end = new StreamEnd(r.Dialect);
        int lines = 0;
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }
            end.Feed(line);
            lines++;
            if (cancelAfter > 0 && lines >= cancelAfter && !end.Complete)
            {
                tally.ClientCancelled();
                return;
            }
        }
        if (end.EngineError)
        {
            tally.EngineError($"{Requests.Describe(r)}: {end.LastLine}");
        }
        if (end.Complete)
        {
            tally.StreamCompleted();
        }
        else
        {
            tally.Drop($"{Requests.Describe(r)} ended after {lines} lines without its final chunk; last: {Clip(end.LastLine)}");
        }
    }

    private static bool ReportsEngineError(Dialect dialect, string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }
            if (dialect == Dialect.Ollama)
            {
                return root.TryGetProperty("done_reason", out JsonElement reason) && reason.ValueKind == JsonValueKind.String && reason.GetString() == "error";
            }
            if (root.TryGetProperty("choices", out JsonElement choices) && choices.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement choice in choices.EnumerateArray())
                {
                    if (choice.TryGetProperty("finish_reason", out JsonElement f) && f.ValueKind == JsonValueKind.String && f.GetString() == "error")
                    {
                        return true;
                    }
                }
            }
            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Clip(string s) => s.Length <= 240 ? s : s[..240] + "…";
}
