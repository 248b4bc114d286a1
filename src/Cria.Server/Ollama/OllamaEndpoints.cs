using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

using Cria.Server.Auth;
using Cria.Server.Engine;
using Cria.Server.Http;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cria.Server.Ollama;

/// <summary>
/// Ollama's routes: <c>/api/chat</c> and <c>/api/generate</c> (newline-delimited JSON, streaming unless
/// <c>"stream": false</c>), <c>/api/embed</c>, <c>/api/tags</c>, <c>/api/show</c>, <c>/api/version</c>. Durations are in
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
        GenerationRequest request = OllamaMapping.ToRequest(body);
        ModelAccess.Check(http, service.Models, request.Model);
        long start = TimeProvider.System.GetTimestamp();
        GenerationRun run = await service.StartAsync(request, http.RequestAborted);
        string model = body.Model ?? run.Model.Name;
        CancellationToken cancel = http.RequestAborted;
        try
        {
            OllamaChatResponse Final(string content) => new()
            {
                Model = model,
                CreatedAt = Now(),
                Message = new OllamaMessage { Role = "assistant", Content = content },
                Done = true,
                DoneReason = OllamaMapping.DoneReason(run.Stats.FinishReason),
                TotalDuration = Nanoseconds(TimeProvider.System.GetElapsedTime(start)),
                LoadDuration = 0,
                PromptEvalCount = run.PromptTokens,
                PromptEvalDuration = Nanoseconds(run.Stats.PromptTime),
                EvalCount = run.Stats.GeneratedTokens,
                EvalDuration = Nanoseconds(run.Stats.GenerationTime),
            };
            if (body.Stream == false)
            {
                string text = await CollectAsync(run, cancel);
                await EventStream.WriteJsonAsync(http.Response, Final(text), s_json.OllamaChatResponse, cancel);
                return;
            }
            EventStream.StartNdjson(http.Response);
            await foreach (string piece in run.Pieces.ReadAllAsync(cancel))
            {
                var line = new OllamaChatResponse { Model = model, CreatedAt = Now(), Message = new OllamaMessage { Role = "assistant", Content = piece } };
                await EventStream.WriteLineAsync(http.Response, line, s_json.OllamaChatResponse, cancel);
            }
            await EventStream.WriteLineAsync(http.Response, Final(""), s_json.OllamaChatResponse, cancel);
        }
        finally
        {
            run.Cancel();
            RequestUsage.Add(http, run.PromptTokens + run.Stats.GeneratedTokens);
        }
    }

    private static async Task Generate(HttpContext http, GenerationService service)
    {
        OllamaGenerateRequest body = await JsonBody.ReadAsync(http.Request, s_json.OllamaGenerateRequest);
        GenerationRequest request = OllamaMapping.ToRequest(body);
        ModelAccess.Check(http, service.Models, request.Model);
        long start = TimeProvider.System.GetTimestamp();
        if (string.IsNullOrEmpty(body.Prompt))
        {
            // Ollama's way to preload a model: an empty prompt loads it and answers done_reason "load".
            ServedModel loaded = await service.Models.GetAsync(request.Model);
            var done = new OllamaGenerateResponse { Model = body.Model ?? loaded.Name, CreatedAt = Now(), Response = "", Done = true, DoneReason = "load" };
            await EventStream.WriteJsonAsync(http.Response, done, s_json.OllamaGenerateResponse, http.RequestAborted);
            return;
        }
        GenerationRun run = await service.StartAsync(request, http.RequestAborted);
        string model = body.Model ?? run.Model.Name;
        CancellationToken cancel = http.RequestAborted;
        try
        {
            OllamaGenerateResponse Final(string text) => new()
            {
                Model = model,
                CreatedAt = Now(),
                Response = text,
                Done = true,
                DoneReason = OllamaMapping.DoneReason(run.Stats.FinishReason),
                TotalDuration = Nanoseconds(TimeProvider.System.GetElapsedTime(start)),
                LoadDuration = 0,
                PromptEvalCount = run.PromptTokens,
                PromptEvalDuration = Nanoseconds(run.Stats.PromptTime),
                EvalCount = run.Stats.GeneratedTokens,
                EvalDuration = Nanoseconds(run.Stats.GenerationTime),
            };
            if (body.Stream == false)
            {
                string text = await CollectAsync(run, cancel);
                await EventStream.WriteJsonAsync(http.Response, Final(text), s_json.OllamaGenerateResponse, cancel);
                return;
            }
            EventStream.StartNdjson(http.Response);
            await foreach (string piece in run.Pieces.ReadAllAsync(cancel))
            {
                var line = new OllamaGenerateResponse { Model = model, CreatedAt = Now(), Response = piece };
                await EventStream.WriteLineAsync(http.Response, line, s_json.OllamaGenerateResponse, cancel);
            }
            await EventStream.WriteLineAsync(http.Response, Final(""), s_json.OllamaGenerateResponse, cancel);
        }
        finally
        {
            run.Cancel();
            RequestUsage.Add(http, run.PromptTokens + run.Stats.GeneratedTokens);
        }
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
        ModelAccess.Check(http, http.RequestServices.GetRequiredService<ModelRegistry>(), model);
        long start = TimeProvider.System.GetTimestamp();
        var service = http.RequestServices.GetRequiredService<EmbeddingService>();
        EmbeddingResult result = await service.EmbedAsync(model, inputs, "input", http.RequestAborted);
        RequestUsage.Add(http, result.PromptTokens);
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
        foreach (ModelEntry entry in service.Models.Models)
        {
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
        if (!service.Models.TryGetEntry(name, out ModelEntry entry))
        {
            throw new ApiException(404, $"model '{name}' not found", "model", "model_not_found");
        }
        ModelDetails details = service.Models.GetDetails(entry);
        var info = new Dictionary<string, JsonElement>
        {
            ["general.architecture"] = JsonSerializer.SerializeToElement(details.Architecture, s_json.String),
            ["general.parameter_count"] = JsonSerializer.SerializeToElement(details.ParameterCount, s_json.Int64),
            [$"{details.Architecture}.context_length"] = JsonSerializer.SerializeToElement(details.ContextLength, s_json.Int32),
        };
        var response = new OllamaShowResponse
        {
            Template = details.ChatTemplate ?? Core.Templates.ChatTemplate.DefaultSource,
            Details = Details(details),
            ModelInfo = info,
            Capabilities = ["completion"],
            ModifiedAt = entry.ModifiedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        };
        await EventStream.WriteJsonAsync(http.Response, response, s_json.OllamaShowResponse, http.RequestAborted);
    }

    private static OllamaModelDetails Details(ModelDetails details) => new()
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

    private static async Task<string> CollectAsync(GenerationRun run, CancellationToken cancel)
    {
        var text = new StringBuilder();
        await foreach (string piece in run.Pieces.ReadAllAsync(cancel))
        {
            text.Append(piece);
        }
        return text.ToString();
    }
}
