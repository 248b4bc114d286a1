using System.Text;
using System.Text.Json.Serialization.Metadata;

using Cria.Grammar;
using Cria.Server.Http;
using Cria.Server.Ollama;
using Cria.Server.OpenAi;
using Cria.Server.Requests;
using Cria.Templates;

using Microsoft.AspNetCore.Http;

namespace Cria.Fuzz;

/// <summary>
/// The server's request bodies, dialect by dialect: the body reader the handlers use (<see cref="JsonBody"/>, over
/// a real <see cref="DefaultHttpContext"/>), then the DTO → <see cref="GenerationRequest"/> mapping, then for a
/// conversation the rendering of its messages and tools. What is expected is what <see cref="ApiGuard"/> answers
/// with a 4xx: an <see cref="ApiException"/> with a client status, a <see cref="GrammarException"/>, a template
/// that raised, a string that is not Unicode. Anything else would be a 500: a finding.
/// </summary>
public static class RequestHarnesses
{
    // A template that shows every part of a message and the tools, so the request's JSON reaches the renderer.
    private const string RenderAll = """
        {%- if tools %}{{ tools | tojson }}{% endif -%}
        {%- for m in messages -%}
        <|{{ m.role }}|>{{ m.content if m.content is string else '' }}{% if m.tool_calls %}{{ m.tool_calls | tojson }}{% endif %}
        {%- endfor -%}
        {%- if add_generation_prompt %}<|assistant|>{% endif -%}
        """;

    private static readonly ChatTemplate s_template = new(RenderAll);

    public static void OpenAiChat(byte[] input) => Client(() =>
    {
        ChatCompletionRequest body = Read(input, OpenAiJsonContext.Api.ChatCompletionRequest);
        Render(OpenAiMapping.ToRequest(body));
    });

    public static void OpenAiCompletions(byte[] input) => Client(() =>
    {
        CompletionRequest body = Read(input, OpenAiJsonContext.Api.CompletionRequest);
        _ = OpenAiMapping.ToRequest(body);
    });

    public static void OpenAiEmbeddings(byte[] input) => Client(() =>
    {
        EmbeddingRequest body = Read(input, OpenAiJsonContext.Api.EmbeddingRequest);
        _ = OpenAiEmbeddingMapping.ToInputs(body.Input);
        _ = OpenAiEmbeddingMapping.IsBase64(body.EncodingFormat);
    });

    public static void OllamaChat(byte[] input) => Client(() =>
    {
        OllamaChatRequest body = Read(input, OllamaJsonContext.Api.OllamaChatRequest);
        if (body.Messages is null or { Count: 0 })
        {
            _ = OllamaMapping.KeepAlive(body.KeepAlive); // a load or unload request
            return;
        }
        Render(OllamaMapping.ToRequest(body));
    });

    public static void OllamaGenerate(byte[] input) => Client(() =>
    {
        OllamaGenerateRequest body = Read(input, OllamaJsonContext.Api.OllamaGenerateRequest);
        if (string.IsNullOrEmpty(body.Prompt))
        {
            _ = OllamaMapping.KeepAlive(body.KeepAlive);
            return;
        }
        Render(OllamaMapping.ToRequest(body));
    });

    public static void OllamaEmbed(byte[] input) => Client(() =>
    {
        OllamaEmbedRequest body = Read(input, OllamaJsonContext.Api.OllamaEmbedRequest);
        _ = OllamaMapping.ModelName(body.Model);
        _ = OllamaMapping.KeepAlive(body.KeepAlive);
    });

    /// <summary>The body as <see cref="JsonBody.ReadAsync"/> reads it from a request (it completes at once over a memory stream).</summary>
    private static T Read<T>(byte[] input, JsonTypeInfo<T> type)
        where T : class
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.ContentType = "application/json";
        http.Request.ContentLength = input.Length;
        http.Request.Body = new MemoryStream(input, writable: false);
        return JsonBody.ReadAsync(http.Request, type).GetAwaiter().GetResult();
    }

    private static void Render(GenerationRequest request)
    {
        if (request.Messages is { } messages)
        {
            _ = s_template.Render(messages, addGenerationPrompt: true, "<s>", "</s>", request.Tools?.Tools);
        }
    }

    /// <summary>Runs a handler's parsing and lets through only what the server answers with a 4xx.</summary>
    private static void Client(Action parse)
    {
        try
        {
            parse();
        }
        catch (ApiException e) when (e.Status is >= 400 and < 500)
        {
        }
        catch (GrammarException)
        {
        }
        catch (TemplateException e) when (e.Kind == TemplateErrorKind.Raised)
        {
        }
        catch (InvalidOperationException e) when (e.InnerException is DecoderFallbackException)
        {
        }
    }
}
