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

namespace Cria.Server.OpenAi;

/// <summary>
/// OpenAI's routes: <c>/v1/chat/completions</c>, <c>/v1/completions</c>, <c>/v1/embeddings</c>, <c>/v1/moderations</c>, <c>/v1/models</c>. Streams are
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
        app.MapPost("/v1/embeddings", http => Guard(http, () => Embeddings(http)));
        app.MapPost("/v1/moderations", http => Guard(http, () => OpenAiModerations.Moderate(http, Service(http))));
    }

    private static GenerationService Service(HttpContext http) => http.RequestServices.GetRequiredService<GenerationService>();

    private static Task Guard(HttpContext http, Func<Task> handler) => ApiGuard.RunAsync(http, WriteError, WriteStreamError, handler);

    private static Task WriteError(HttpContext http, ApiException error) =>
        EventStream.WriteJsonAsync(http.Response, ToResponse(error), s_json.ErrorResponse, CancellationToken.None);

    private static Task WriteStreamError(HttpContext http, ApiException error) =>
        EventStream.WriteSseAsync(http.Response, ToResponse(error), s_json.ErrorResponse, CancellationToken.None);

    private static ErrorResponse ToResponse(ApiException error) =>
        new() { Error = new ErrorBody { Message = error.Message, Type = error.Type, Param = error.Param, Code = error.Code } };

    /// <summary>The models and aliases the caller's key may use (all of them without keys).</summary>
    private static Task ListModels(HttpContext http, GenerationService service)
    {
        ModelRegistry models = service.Models;
        Caller caller = Caller.Of(http);
        var data = new List<ModelDto>();
        foreach (ModelEntry entry in models.Models)
        {
            if (caller.MayUse(entry))
            {
                data.Add(ToDto(entry.Name, entry));
            }
        }
        foreach ((string alias, string target) in models.Aliases)
        {
            if (models.TryGetEntry(target, out ModelEntry entry) && caller.MayUse(entry))
            {
                data.Add(ToDto(alias, entry));
            }
        }
        return EventStream.WriteJsonAsync(http.Response, new ModelListResponse { Data = data }, s_json.ModelListResponse, http.RequestAborted);
    }

    private static Task GetModel(HttpContext http, string id, GenerationService service)
    {
        ModelEntry entry = Caller.Of(http).Find(service.Models, id);
        return EventStream.WriteJsonAsync(http.Response, ToDto(id, entry), s_json.ModelDto, http.RequestAborted);
    }

    private static ModelDto ToDto(string id, ModelEntry entry) => new() { Id = id, Created = entry.ModifiedAt.ToUnixTimeSeconds() };

    private static async Task ChatCompletions(HttpContext http, GenerationService service)
    {
        ChatCompletionRequest body = await JsonBody.ReadAsync(http.Request, s_json.ChatCompletionRequest);
        GenerationRequest request = OpenAiMapping.ToRequest(body);
        await using GenerationRun run = await service.StartAsync(request, Caller.Of(http), http.RequestAborted);
        string id = ServerInfo.NewId("chatcmpl-");
        long created = ServerInfo.UnixNow();
        string model = run.Model.Name;
        var tokenizer = run.Model.Local.Tokenizer;
        bool logprobs = request.Logprobs is not null;
        bool tools = request.Tools is { Choice: not ToolChoiceMode.None };
        CancellationToken cancel = http.RequestAborted;
        if (body.Stream != true)
        {
            GeneratedPiece all = await run.CollectAsync(cancel);
            (string content, IReadOnlyList<ParsedToolCall> calls) = tools ? ToolCalls.Parse(all.Text, run.Model.ToolFormat) : (all.Text, []);
            calls = run.CheckToolCalls(calls);
            var response = new ChatCompletionResponse
            {
                Id = id,
                Created = created,
                Model = model,
                Choices =
                [
                    new ChatChoice
                    {
                        Message = new ChatResponseMessage
                        {
                            Content = calls.Count > 0 && content.Length == 0 ? null : content,
                            ToolCalls = calls.Count > 0 ? [.. calls.Select((c, i) => ToolCallDto(c, null))] : null,
                        },
                        Logprobs = OpenAiLogprobs.ForChat(all.Logprobs, tokenizer, logprobs),
                        FinishReason = calls.Count > 0 ? "tool_calls" : OpenAiMapping.FinishReasonText(run),
                    },
                ],
                Usage = Usage(run),
            };
            await EventStream.WriteJsonAsync(http.Response, response, s_json.ChatCompletionResponse, cancel);
            return;
        }
        EventStream.StartSse(http.Response);
        ChatCompletionChunk Chunk(ChunkDelta delta, string? finish, ChoiceLogprobs? lp = null) =>
            new() { Id = id, Created = created, Model = model, Choices = [new ChunkChoice { Delta = delta, Logprobs = lp, FinishReason = finish }] };
        await EventStream.WriteSseAsync(http.Response, Chunk(new ChunkDelta { Role = "assistant", Content = "" }, null), s_json.ChatCompletionChunk, cancel);
        ToolCallStream? toolStream = tools ? new ToolCallStream(run.Model.ToolFormat) : null;
        await foreach (GeneratedPiece piece in run.ReadPiecesAsync(cancel))
        {
            string text = toolStream?.Push(piece.Text) ?? piece.Text;
            if (text.Length == 0 && !logprobs)
            {
                continue;
            }
            var chunk = Chunk(new ChunkDelta { Content = text }, null, OpenAiLogprobs.ForChat(piece.Logprobs, tokenizer, logprobs));
            await EventStream.WriteSseAsync(http.Response, chunk, s_json.ChatCompletionChunk, cancel);
        }
        string finish = OpenAiMapping.FinishReasonText(run);
        if (toolStream is not null)
        {
            (string rest, IReadOnlyList<ParsedToolCall> calls) = toolStream.Finish();
            calls = run.CheckToolCalls(calls);
            if (rest.Length > 0)
            {
                await EventStream.WriteSseAsync(http.Response, Chunk(new ChunkDelta { Content = rest }, null), s_json.ChatCompletionChunk, cancel);
            }
            for (int i = 0; i < calls.Count; i++)
            {
                await EventStream.WriteSseAsync(http.Response, Chunk(new ChunkDelta { ToolCalls = [ToolCallDto(calls[i], i)] }, null), s_json.ChatCompletionChunk, cancel);
            }
            if (calls.Count > 0 && run.Error is null)
            {
                finish = "tool_calls";
            }
            if (run.Filtered)
            {
                finish = "content_filter";
            }
        }
        await EventStream.WriteSseAsync(http.Response, Chunk(new ChunkDelta(), finish), s_json.ChatCompletionChunk, cancel);
        run.ThrowIfFailedOrFiltered(); // after the chunk that says finish_reason "error": the error event, in OpenAI's shape
        if (body.StreamOptions?.IncludeUsage == true)
        {
            var usage = new ChatCompletionChunk { Id = id, Created = created, Model = model, Choices = [], Usage = Usage(run) };
            await EventStream.WriteSseAsync(http.Response, usage, s_json.ChatCompletionChunk, cancel);
        }
        await EventStream.WriteSseDoneAsync(http.Response, cancel);
    }

    private static async Task Completions(HttpContext http, GenerationService service)
    {
        CompletionRequest body = await JsonBody.ReadAsync(http.Request, s_json.CompletionRequest);
        GenerationRequest request = OpenAiMapping.ToRequest(body);
        await using GenerationRun run = await service.StartAsync(request, Caller.Of(http), http.RequestAborted);
        string id = ServerInfo.NewId("cmpl-");
        long created = ServerInfo.UnixNow();
        string model = run.Model.Name;
        var tokenizer = run.Model.Local.Tokenizer;
        bool logprobs = request.Logprobs is not null;
        CancellationToken cancel = http.RequestAborted;
        if (body.Stream != true)
        {
            GeneratedPiece all = await run.CollectAsync(cancel);
            var response = new CompletionResponse
            {
                Id = id,
                Created = created,
                Model = model,
                Choices =
                [
                    new CompletionChoice
                    {
                        Text = all.Text,
                        Logprobs = OpenAiLogprobs.ForCompletion(all.Logprobs, tokenizer, logprobs, 0),
                        FinishReason = OpenAiMapping.FinishReasonText(run),
                    },
                ],
                Usage = Usage(run),
            };
            await EventStream.WriteJsonAsync(http.Response, response, s_json.CompletionResponse, cancel);
            return;
        }
        EventStream.StartSse(http.Response);
        CompletionResponse Chunk(string text, string? finish, CompletionLogprobs? lp = null) =>
            new() { Id = id, Created = created, Model = model, Choices = [new CompletionChoice { Text = text, Logprobs = lp, FinishReason = finish }] };
        int offset = 0;
        await foreach (GeneratedPiece piece in run.ReadPiecesAsync(cancel))
        {
            var chunk = Chunk(piece.Text, null, OpenAiLogprobs.ForCompletion(piece.Logprobs, tokenizer, logprobs, offset));
            offset += piece.Text.Length;
            await EventStream.WriteSseAsync(http.Response, chunk, s_json.CompletionResponse, cancel);
        }
        await EventStream.WriteSseAsync(http.Response, Chunk("", OpenAiMapping.FinishReasonText(run)), s_json.CompletionResponse, cancel);
        run.ThrowIfFailedOrFiltered();
        if (body.StreamOptions?.IncludeUsage == true)
        {
            var usage = new CompletionResponse { Id = id, Created = created, Model = model, Choices = [], Usage = Usage(run) };
            await EventStream.WriteSseAsync(http.Response, usage, s_json.CompletionResponse, cancel);
        }
        await EventStream.WriteSseDoneAsync(http.Response, cancel);
    }

    private static async Task Embeddings(HttpContext http)
    {
        EmbeddingRequest body = await JsonBody.ReadAsync(http.Request, s_json.EmbeddingRequest);
        List<EmbeddingInput> inputs = OpenAiEmbeddingMapping.ToInputs(body.Input);
        bool base64 = OpenAiEmbeddingMapping.IsBase64(body.EncodingFormat);
        var service = http.RequestServices.GetRequiredService<EmbeddingService>();
        EmbeddingResult result = await service.EmbedAsync(body.Model, inputs, "input", Caller.Of(http), http.RequestAborted);
        int dim = result.Model.Local.Model.Config.EmbeddingLength;
        if (body.Dimensions is { } dimensions && dimensions != dim)
        {
            throw ApiException.BadRequest($"dimensions must be the model's embedding width of {dim} (shortened embeddings are not supported), got {dimensions}", "dimensions");
        }
        var data = new List<EmbeddingDto>(result.Vectors.Length);
        for (int i = 0; i < result.Vectors.Length; i++)
        {
            data.Add(new EmbeddingDto { Index = i, Embedding = OpenAiEmbeddingMapping.Encode(result.Vectors[i], base64) });
        }
        var response = new EmbeddingResponse
        {
            Data = data,
            Model = result.Model.Name,
            Usage = new EmbeddingUsage { PromptTokens = result.PromptTokens, TotalTokens = result.PromptTokens },
        };
        await EventStream.WriteJsonAsync(http.Response, response, s_json.EmbeddingResponse, http.RequestAborted);
    }

    private static ToolCallDto ToolCallDto(ParsedToolCall call, int? index) => new()
    {
        Index = index,
        Id = ServerInfo.NewId("call_"),
        Function = new ToolFunctionDto { Name = call.Name, Arguments = call.ArgumentsJson },
    };

    private static UsageDto Usage(GenerationRun run) => new()
    {
        PromptTokens = run.PromptTokens,
        CompletionTokens = run.Stats.GeneratedTokens,
        TotalTokens = run.PromptTokens + run.Stats.GeneratedTokens,
        PromptTokensDetails = new PromptTokensDetails { CachedTokens = run.CachedTokens },
    };
}
