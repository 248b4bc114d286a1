using System.Text;

using Cria.Server.Engine;
using Cria.Server.Http;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Cria.Server.OpenAi;

/// <summary>
/// OpenAI's routes: <c>/v1/chat/completions</c>, <c>/v1/completions</c>, <c>/v1/models</c>. Streams are
/// server-sent events: a first chunk with the assistant role, one chunk per text piece, a last chunk
/// with the finish reason, a usage chunk (empty choices) when <c>stream_options.include_usage</c>, then
/// <c>data: [DONE]</c> — the order OpenAI sends them in.
/// </summary>
internal static class OpenAiEndpoints
{
    private static readonly OpenAiJsonContext s_json = OpenAiJsonContext.Api;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", http => Guard(http, () => ListModels(http, Service(http))));
        app.MapGet("/v1/models/{id}", http => Guard(http, () => GetModel(http, (string)http.Request.RouteValues["id"]!, Service(http))));
        app.MapPost("/v1/chat/completions", http => Guard(http, () => ChatCompletions(http, Service(http))));
        app.MapPost("/v1/completions", http => Guard(http, () => Completions(http, Service(http))));
    }

    private static GenerationService Service(HttpContext http) => http.RequestServices.GetRequiredService<GenerationService>();

    private static Task Guard(HttpContext http, Func<Task> handler) => ApiGuard.RunAsync(http, WriteError, WriteStreamError, handler);

    private static Task WriteError(HttpContext http, ApiException error) =>
        EventStream.WriteJsonAsync(http.Response, ToResponse(error), s_json.ErrorResponse, CancellationToken.None);

    private static Task WriteStreamError(HttpContext http, ApiException error) =>
        EventStream.WriteSseAsync(http.Response, ToResponse(error), s_json.ErrorResponse, CancellationToken.None);

    private static ErrorResponse ToResponse(ApiException error) =>
        new() { Error = new ErrorBody { Message = error.Message, Type = error.Type, Param = error.Param, Code = error.Code } };

    private static Task ListModels(HttpContext http, GenerationService service)
    {
        var data = service.Models.Models.Select(ToDto).ToList();
        return EventStream.WriteJsonAsync(http.Response, new ModelListResponse { Data = data }, s_json.ModelListResponse, http.RequestAborted);
    }

    private static Task GetModel(HttpContext http, string id, GenerationService service)
    {
        if (!service.Models.TryGetEntry(id, out ModelEntry entry))
        {
            throw new ApiException(404, $"The model '{id}' does not exist", "model", "model_not_found");
        }
        return EventStream.WriteJsonAsync(http.Response, ToDto(entry), s_json.ModelDto, http.RequestAborted);
    }

    private static ModelDto ToDto(ModelEntry entry) => new() { Id = entry.Name, Created = entry.ModifiedAt.ToUnixTimeSeconds() };

    private static async Task ChatCompletions(HttpContext http, GenerationService service)
    {
        ChatCompletionRequest body = await JsonBody.ReadAsync(http.Request, s_json.ChatCompletionRequest);
        GenerationRequest request = OpenAiMapping.ToRequest(body);
        GenerationRun run = await service.StartAsync(request, http.RequestAborted);
        string id = ServerInfo.NewId("chatcmpl-");
        long created = ServerInfo.UnixNow();
        string model = run.Model.Name;
        CancellationToken cancel = http.RequestAborted;
        try
        {
            if (body.Stream != true)
            {
                string text = await CollectAsync(run, cancel);
                var response = new ChatCompletionResponse
                {
                    Id = id,
                    Created = created,
                    Model = model,
                    Choices = [new ChatChoice { Message = new ChatResponseMessage { Content = text }, FinishReason = OpenAiMapping.FinishReasonText(run.Stats.FinishReason) }],
                    Usage = Usage(run),
                };
                await EventStream.WriteJsonAsync(http.Response, response, s_json.ChatCompletionResponse, cancel);
                return;
            }
            EventStream.StartSse(http.Response);
            ChatCompletionChunk Chunk(ChunkDelta delta, string? finish) =>
                new() { Id = id, Created = created, Model = model, Choices = [new ChunkChoice { Delta = delta, FinishReason = finish }] };
            await EventStream.WriteSseAsync(http.Response, Chunk(new ChunkDelta { Role = "assistant", Content = "" }, null), s_json.ChatCompletionChunk, cancel);
            await foreach (string piece in run.Pieces.ReadAllAsync(cancel))
            {
                await EventStream.WriteSseAsync(http.Response, Chunk(new ChunkDelta { Content = piece }, null), s_json.ChatCompletionChunk, cancel);
            }
            await EventStream.WriteSseAsync(http.Response, Chunk(new ChunkDelta(), OpenAiMapping.FinishReasonText(run.Stats.FinishReason)), s_json.ChatCompletionChunk, cancel);
            if (body.StreamOptions?.IncludeUsage == true)
            {
                var usage = new ChatCompletionChunk { Id = id, Created = created, Model = model, Choices = [], Usage = Usage(run) };
                await EventStream.WriteSseAsync(http.Response, usage, s_json.ChatCompletionChunk, cancel);
            }
            await EventStream.WriteSseDoneAsync(http.Response, cancel);
        }
        finally
        {
            run.Cancel(); // a no-op when the run has ended; stops it when writing failed
        }
    }

    private static async Task Completions(HttpContext http, GenerationService service)
    {
        CompletionRequest body = await JsonBody.ReadAsync(http.Request, s_json.CompletionRequest);
        GenerationRequest request = OpenAiMapping.ToRequest(body);
        GenerationRun run = await service.StartAsync(request, http.RequestAborted);
        string id = ServerInfo.NewId("cmpl-");
        long created = ServerInfo.UnixNow();
        string model = run.Model.Name;
        CancellationToken cancel = http.RequestAborted;
        try
        {
            if (body.Stream != true)
            {
                string text = await CollectAsync(run, cancel);
                var response = new CompletionResponse
                {
                    Id = id,
                    Created = created,
                    Model = model,
                    Choices = [new CompletionChoice { Text = text, FinishReason = OpenAiMapping.FinishReasonText(run.Stats.FinishReason) }],
                    Usage = Usage(run),
                };
                await EventStream.WriteJsonAsync(http.Response, response, s_json.CompletionResponse, cancel);
                return;
            }
            EventStream.StartSse(http.Response);
            CompletionResponse Chunk(string text, string? finish) =>
                new() { Id = id, Created = created, Model = model, Choices = [new CompletionChoice { Text = text, FinishReason = finish }] };
            await foreach (string piece in run.Pieces.ReadAllAsync(cancel))
            {
                await EventStream.WriteSseAsync(http.Response, Chunk(piece, null), s_json.CompletionResponse, cancel);
            }
            await EventStream.WriteSseAsync(http.Response, Chunk("", OpenAiMapping.FinishReasonText(run.Stats.FinishReason)), s_json.CompletionResponse, cancel);
            if (body.StreamOptions?.IncludeUsage == true)
            {
                var usage = new CompletionResponse { Id = id, Created = created, Model = model, Choices = [], Usage = Usage(run) };
                await EventStream.WriteSseAsync(http.Response, usage, s_json.CompletionResponse, cancel);
            }
            await EventStream.WriteSseDoneAsync(http.Response, cancel);
        }
        finally
        {
            run.Cancel();
        }
    }

    private static async Task<string> CollectAsync(GenerationRun run, CancellationToken cancel)
    {
        var text = new StringBuilder();
        await foreach (string piece in run.Pieces.ReadAllAsync(cancel))
        {
            text.Append(piece);
        }
        return text.ToString();
    }

    private static UsageDto Usage(GenerationRun run) => new()
    {
        PromptTokens = run.PromptTokens,
        CompletionTokens = run.Stats.GeneratedTokens,
        TotalTokens = run.PromptTokens + run.Stats.GeneratedTokens,
    };
}
