using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

using Cria.Core.Gguf;
using Cria.Core.Inference;
using Cria.Server.Auth;
using Cria.Server.Engine;
using Cria.Server.Http;
using Cria.Server.Requests;
using Cria.Server.Structured;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cria.Server.Ollama;

/// <summary>
/// Ollama's routes: <c>/api/chat</c> and <c>/api/generate</c> (newline-delimited JSON, streaming unless
/// <c>"stream": false</c>), <c>/api/embed</c> (and the older <c>/api/embeddings</c>), <c>/api/tags</c>, <c>/api/ps</c>,
/// <c>/api/show</c>, <c>/api/version</c>. Durations are in
/// nanoseconds, as Ollama reports them; errors are <c>{"error": "..."}</c>.
/// </summary>
internal static class OllamaEndpoints
{
    private static readonly OllamaJsonContext s_json = OllamaJsonContext.Api;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/chat", http => Guard(http, () => Chat(http, Service(http))));
        app.MapPost("/api/generate", http => Guard(http, () => Generate(http, Service(http))));
        app.MapPost("/api/embed", http => Guard(http, () => Embed(http)));
        app.MapPost("/api/embeddings", http => Guard(http, () => LegacyEmbeddings(http)));
        app.MapGet("/api/ps", http => Guard(http, () => Running(http, Service(http))));
        app.MapGet("/api/tags", http => Guard(http, () => Tags(http, Service(http))));
        app.MapPost("/api/show", http => Guard(http, () => Show(http, Service(http))));
        app.MapGet("/api/version", http => Guard(http, () =>
            EventStream.WriteJsonAsync(http.Response, new OllamaVersionResponse { Version = ServerInfo.OllamaApiVersion }, s_json.OllamaVersionResponse, http.RequestAborted)));
    }

    private static GenerationService Service(HttpContext http) => http.RequestServices.GetRequiredService<GenerationService>();

    private static Task Guard(HttpContext http, Func<Task> handler) => ApiGuard.RunAsync(http, WriteError, WriteError, handler);

    private static Task WriteError(HttpContext http, ApiException error)
    {
        var body = new OllamaErrorResponse { Error = error.Message };
        return http.Response.HasStarted
            ? EventStream.WriteLineAsync(http.Response, body, s_json.OllamaErrorResponse, CancellationToken.None)
            : EventStream.WriteJsonAsync(http.Response, body, s_json.OllamaErrorResponse, CancellationToken.None);
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static async Task Chat(HttpContext http, GenerationService service)
    {
        OllamaChatRequest body = await JsonBody.ReadAsync(http.Request, s_json.OllamaChatRequest);
        if (body.Messages is null or { Count: 0 })
        {
            // Ollama's way to load (or, with keep_alive 0, unload) a model: a chat without messages.
            await LoadOrUnload(http, service, body.Model, body.KeepAlive, done => new OllamaChatResponse
            {
                Model = done.Model,
                CreatedAt = done.CreatedAt,
                Message = new OllamaMessage { Role = "assistant", Content = "" },
                Done = true,
                DoneReason = done.DoneReason,
            }, s_json.OllamaChatResponse);
            return;
        }
        GenerationRequest request = OllamaMapping.ToRequest(body);
        long start = TimeProvider.System.GetTimestamp();
        await using GenerationRun run = await service.StartAsync(request, Caller.Of(http), http.RequestAborted);
        string model = body.Model ?? run.Model.Name;
        var tokenizer = run.Model.Local.Tokenizer;
        bool logprobs = request.Logprobs is not null;
        CancellationToken cancel = http.RequestAborted;
        OllamaChatResponse Final(string content, IReadOnlyList<TokenLogprob>? lp, IReadOnlyList<ParsedToolCall>? calls = null) => new()
        {
            Model = model,
            CreatedAt = Now(),
            Message = new OllamaMessage { Role = "assistant", Content = content, ToolCalls = OllamaToolCalls(calls) },
            Logprobs = Logprobs(lp, tokenizer, logprobs),
            Done = true,
            DoneReason = OllamaMapping.DoneReason(run),
            TotalDuration = Nanoseconds(TimeProvider.System.GetElapsedTime(start)),
            LoadDuration = 0,
            PromptEvalCount = run.PromptTokens,
            PromptEvalDuration = Nanoseconds(run.Stats.PromptTime),
            EvalCount = run.Stats.GeneratedTokens,
            EvalDuration = Nanoseconds(run.Stats.GenerationTime),
        };
        bool tools = request.Tools is { Choice: not ToolChoiceMode.None };
        if (body.Stream == false)
        {
            GeneratedPiece all = await run.CollectAsync(cancel);
            (string content, IReadOnlyList<ParsedToolCall> calls) = tools ? ToolCalls.Parse(all.Text, run.Model.ToolFormat) : (all.Text, []);
            calls = run.CheckToolCalls(calls);
            await EventStream.WriteJsonAsync(http.Response, Final(content, all.Logprobs, calls), s_json.OllamaChatResponse, cancel);
            return;
        }
        EventStream.StartNdjson(http.Response);
        ToolCallStream? toolStream = tools ? new ToolCallStream(run.Model.ToolFormat) : null;
        await foreach (GeneratedPiece piece in run.ReadPiecesAsync(cancel))
        {
            string text = toolStream?.Push(piece.Text) ?? piece.Text;
            if (text.Length == 0 && !logprobs)
            {
                continue;
            }
            var line = new OllamaChatResponse
            {
                Model = model,
                CreatedAt = Now(),
                Message = new OllamaMessage { Role = "assistant", Content = text },
                Logprobs = Logprobs(piece.Logprobs, tokenizer, logprobs),
            };
            await EventStream.WriteLineAsync(http.Response, line, s_json.OllamaChatResponse, cancel);
        }
        if (toolStream is not null)
        {
            // Ollama sends the calls, whole, in a message of their own before the final line.
            (string rest, IReadOnlyList<ParsedToolCall> calls) = toolStream.Finish();
            calls = run.CheckToolCalls(calls);
            if (rest.Length > 0 || calls.Count > 0)
            {
                var line = new OllamaChatResponse { Model = model, CreatedAt = Now(), Message = new OllamaMessage { Role = "assistant", Content = rest, ToolCalls = OllamaToolCalls(calls) } };
                await EventStream.WriteLineAsync(http.Response, line, s_json.OllamaChatResponse, cancel);
            }
        }
        await EventStream.WriteLineAsync(http.Response, Final("", null), s_json.OllamaChatResponse, cancel);
        run.ThrowIfFailedOrFiltered(); // after the line that says done_reason "error": Ollama's {"error": …} line
    }

    private static async Task Generate(HttpContext http, GenerationService service)
    {
        OllamaGenerateRequest body = await JsonBody.ReadAsync(http.Request, s_json.OllamaGenerateRequest);
        if (string.IsNullOrEmpty(body.Prompt))
        {
            // Ollama's way to load (or, with keep_alive 0, unload) a model: an empty prompt.
            await LoadOrUnload(http, service, body.Model, body.KeepAlive, done => done, s_json.OllamaGenerateResponse);
            return;
        }
        GenerationRequest request = OllamaMapping.ToRequest(body);
        long start = TimeProvider.System.GetTimestamp();
        await using GenerationRun run = await service.StartAsync(request, Caller.Of(http), http.RequestAborted);
        string model = body.Model ?? run.Model.Name;
        var tokenizer = run.Model.Local.Tokenizer;
        bool logprobs = request.Logprobs is not null;
        CancellationToken cancel = http.RequestAborted;
        OllamaGenerateResponse Final(string text, IReadOnlyList<TokenLogprob>? lp) => new()
        {
            Model = model,
            CreatedAt = Now(),
            Response = text,
            Logprobs = Logprobs(lp, tokenizer, logprobs),
            Done = true,
            DoneReason = OllamaMapping.DoneReason(run),
            Context = [.. run.Prompt, .. run.GeneratedIds],
            TotalDuration = Nanoseconds(TimeProvider.System.GetElapsedTime(start)),
            LoadDuration = 0,
            PromptEvalCount = run.PromptTokens,
            PromptEvalDuration = Nanoseconds(run.Stats.PromptTime),
            EvalCount = run.Stats.GeneratedTokens,
            EvalDuration = Nanoseconds(run.Stats.GenerationTime),
        };
        if (body.Stream == false)
        {
            GeneratedPiece all = await run.CollectAsync(cancel);
            await EventStream.WriteJsonAsync(http.Response, Final(all.Text, all.Logprobs), s_json.OllamaGenerateResponse, cancel);
            return;
        }
        EventStream.StartNdjson(http.Response);
        await foreach (GeneratedPiece piece in run.ReadPiecesAsync(cancel))
        {
            var line = new OllamaGenerateResponse { Model = model, CreatedAt = Now(), Response = piece.Text, Logprobs = Logprobs(piece.Logprobs, tokenizer, logprobs) };
            await EventStream.WriteLineAsync(http.Response, line, s_json.OllamaGenerateResponse, cancel);
        }
        await EventStream.WriteLineAsync(http.Response, Final("", null), s_json.OllamaGenerateResponse, cancel);
        run.ThrowIfFailedOrFiltered();
    }

    /// <summary>Loads the model (done_reason "load"), or unloads it when keep_alive is 0 (done_reason "unload").</summary>
    private static async Task LoadOrUnload<T>(HttpContext http, GenerationService service, string? name, JsonElement? keepAliveJson,
        Func<OllamaGenerateResponse, T> shape, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        TimeSpan? keepAlive = OllamaMapping.KeepAlive(keepAliveJson);
        (ModelEntry entry, bool unloaded) = await service.LoadOrUnloadAsync(OllamaMapping.ModelName(name), keepAlive, Caller.Of(http));
        var done = new OllamaGenerateResponse { Model = name ?? entry.Name, CreatedAt = Now(), Response = "", Done = true, DoneReason = unloaded ? "unload" : "load" };
        await EventStream.WriteJsonAsync(http.Response, shape(done), type, http.RequestAborted);
    }

    /// <summary>Ollama's tool_calls: <c>[{"function": {"name", "arguments": {…}}}]</c>, arguments as an object.</summary>
    private static JsonElement? OllamaToolCalls(IReadOnlyList<ParsedToolCall>? calls)
    {
        if (calls is not { Count: > 0 })
        {
            return null;
        }
        var json = new StringBuilder("[");
        for (int i = 0; i < calls.Count; i++)
        {
            json.Append(i > 0 ? "," : "").Append("{\"function\":{\"name\":").Append(JsonSerializer.Serialize(calls[i].Name, s_json.String))
                .Append(",\"arguments\":").Append(calls[i].ArgumentsJson).Append("}}");
        }
        using JsonDocument doc = JsonDocument.Parse(json.Append(']').ToString());
        return doc.RootElement.Clone();
    }

    private static List<OpenAi.TokenLogprobDto>? Logprobs(IReadOnlyList<TokenLogprob>? logprobs, Core.Tokenization.Tokenizer tokenizer, bool wanted) =>
        wanted && logprobs is not null ? OpenAi.OpenAiLogprobs.ForChat(logprobs, tokenizer, true)!.Content : null;

    /// <summary>Ollama's /api/ps: the models in memory, their size and when they will be unloaded.</summary>
    private static Task Running(HttpContext http, GenerationService service)
    {
        var models = new List<OllamaRunningModel>();
        Caller caller = Caller.Of(http);
        foreach (ServedModel model in service.Models.Loaded())
        {
            if (!caller.MayUse(model.Entry))
            {
                continue;
            }
            DateTimeOffset expires = model.Leases > 0
                ? DateTimeOffset.UtcNow + (service.Options.KeepAlive < TimeSpan.Zero ? TimeSpan.FromDays(365 * 100) : service.Options.KeepAlive)
                : model.ExpiresAt == DateTimeOffset.MaxValue ? DateTimeOffset.UtcNow.AddYears(100) : model.ExpiresAt;
            models.Add(new OllamaRunningModel
            {
                Name = model.Name + ":latest",
                Model = model.Name + ":latest",
                Size = model.MemoryBytes,
                Digest = Digest(model.Entry),
                Details = Details(service.Models.GetDetails(model.Entry)),
                ExpiresAt = expires.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
                SizeVram = 0,
                ContextLength = model.ContextLength,
            });
        }
        return EventStream.WriteJsonAsync(http.Response, new OllamaPsResponse { Models = models }, s_json.OllamaPsResponse, http.RequestAborted);
    }

    /// <summary>The older /api/embeddings: one prompt, one vector under "embedding".</summary>
    private static async Task LegacyEmbeddings(HttpContext http)
    {
        OllamaLegacyEmbeddingsRequest body = await JsonBody.ReadAsync(http.Request, s_json.OllamaLegacyEmbeddingsRequest);
        if (body.Prompt is null)
        {
            throw ApiException.BadRequest("'prompt' is required", "prompt");
        }
        string? model = OllamaMapping.ModelName(body.Model);
        var service = http.RequestServices.GetRequiredService<EmbeddingService>();
        EmbeddingResult result = await service.EmbedAsync(model, [new EmbeddingInput(body.Prompt, null)], "prompt", Caller.Of(http), http.RequestAborted);
        await EventStream.WriteJsonAsync(http.Response, new OllamaLegacyEmbeddingsResponse { Embedding = result.Vectors[0] }, s_json.OllamaLegacyEmbeddingsResponse, http.RequestAborted);
    }

    /// <summary>
    /// Ollama's <c>/api/embed</c>. An input longer than the context is refused (400) even though Ollama
    /// would cut it when <c>truncate</c> is true: Cria never truncates silently.
    /// </summary>
    private static async Task Embed(HttpContext http)
    {
        OllamaEmbedRequest body = await JsonBody.ReadAsync(http.Request, s_json.OllamaEmbedRequest);
        if (body.Input is null)
        {
            throw ApiException.BadRequest("'input' is required", "input");
        }
        var inputs = new List<EmbeddingInput>(body.Input.Count);
        foreach (string text in body.Input)
        {
            inputs.Add(new EmbeddingInput(text, null));
        }
        string? model = OllamaMapping.ModelName(body.Model);
        long start = TimeProvider.System.GetTimestamp();
        var service = http.RequestServices.GetRequiredService<EmbeddingService>();
        EmbeddingResult result = await service.EmbedAsync(model, inputs, "input", Caller.Of(http), http.RequestAborted);
        var response = new OllamaEmbedResponse
        {
            Model = body.Model ?? result.Model.Name,
            Embeddings = [.. result.Vectors],
            TotalDuration = Nanoseconds(TimeProvider.System.GetElapsedTime(start)),
            PromptEvalCount = result.PromptTokens,
        };
        await EventStream.WriteJsonAsync(http.Response, response, s_json.OllamaEmbedResponse, http.RequestAborted);
    }

    private static Task Tags(HttpContext http, GenerationService service)
    {
        var tags = new List<OllamaTag>();
        Caller caller = Caller.Of(http);
        foreach (ModelEntry entry in service.Models.Models)
        {
            if (!caller.MayUse(entry))
            {
                continue;
            }
            tags.Add(new OllamaTag
            {
                Name = entry.Name + ":latest",
                Model = entry.Name + ":latest",
                ModifiedAt = entry.ModifiedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
                Size = entry.SizeBytes,
                Digest = Digest(entry),
                Details = Details(service.Models.GetDetails(entry)),
            });
        }
        return EventStream.WriteJsonAsync(http.Response, new OllamaTagsResponse { Models = tags }, s_json.OllamaTagsResponse, http.RequestAborted);
    }

    private static async Task Show(HttpContext http, GenerationService service)
    {
        OllamaShowRequest body = await JsonBody.ReadAsync(http.Request, s_json.OllamaShowRequest);
        string? name = OllamaMapping.ModelName(body.Model ?? body.Name);
        if (string.IsNullOrEmpty(name))
        {
            throw ApiException.BadRequest("'model' is required", "model");
        }
        ModelEntry entry = Caller.Of(http).Find(service.Models, name); // a model the key may not use does not exist for it
        ModelFacts details = service.Models.GetDetails(entry);
        var info = new Dictionary<string, JsonElement>
        {
            ["general.architecture"] = JsonSerializer.SerializeToElement(details.Architecture, s_json.String),
            ["general.parameter_count"] = JsonSerializer.SerializeToElement(details.ParameterCount, s_json.Int64),
            [$"{details.Architecture}.context_length"] = JsonSerializer.SerializeToElement(details.ContextLength, s_json.Int32),
        };
        var response = new OllamaShowResponse
        {
            Template = details.ChatTemplate ?? Templates.ChatTemplate.DefaultSource,
            Details = Details(details),
            ModelInfo = info,
            Capabilities = ["completion"],
            ModifiedAt = entry.ModifiedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        };
        await EventStream.WriteJsonAsync(http.Response, response, s_json.OllamaShowResponse, http.RequestAborted);
    }

    private static OllamaModelDetails Details(ModelFacts details) => new()
    {
        Family = details.Architecture,
        Families = [details.Architecture],
        ParameterSize = details.ParameterSize,
        QuantizationLevel = details.QuantizationLevel,
    };

    /// <summary>A stable id of the file as listed (path, size, time), not a hash of its bytes, which would mean reading gigabytes.</summary>
    private static string Digest(ModelEntry entry) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{entry.Path}|{entry.SizeBytes}|{entry.ModifiedAt.UtcTicks}")));

    private static long Nanoseconds(TimeSpan t) => t.Ticks * 100;
}
