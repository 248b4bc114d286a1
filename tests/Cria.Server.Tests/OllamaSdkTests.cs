using System.Text;

using Microsoft.Extensions.AI;

using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;

namespace Cria.Server.Tests;

/// <summary>OllamaSharp, the most used .NET Ollama client, against a real Cria server on loopback.</summary>
public sealed class OllamaSdkTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OllamaApiClient Client() => new(new HttpClient { BaseAddress = fixture.Server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, "stories260K");

    [Fact]
    public async Task Chat_streams_through_OllamaSharp_and_reports_counts()
    {
        using OllamaApiClient client = Client();
        var request = new ChatRequest
        {
            Model = "stories260K",
            Messages = [new Message { Role = OllamaSharp.Models.Chat.ChatRole.User, Content = "Tell me about a dog." }],
            Options = new RequestOptions { Temperature = 0, NumPredict = 8 },
        };
        var text = new StringBuilder();
        ChatDoneResponseStream? done = null;
        await foreach (ChatResponseStream? chunk in client.ChatAsync(request))
        {
            text.Append(chunk?.Message.Content);
            if (chunk is ChatDoneResponseStream last)
            {
                done = last;
            }
        }
        Assert.NotEmpty(text.ToString());
        Assert.NotNull(done);
        Assert.Equal(8, done.EvalCount);
        Assert.True(done.PromptEvalCount > 0);
        Assert.Equal("length", done.DoneReason);
    }

    [Fact]
    public async Task Generate_streams_text_and_the_conversation_context()
    {
        using OllamaApiClient client = Client();
        var text = new StringBuilder();
        GenerateDoneResponseStream? done = null;
        await foreach (GenerateResponseStream? chunk in client.GenerateAsync(new GenerateRequest
        {
            Model = "stories260K",
            Prompt = "Once upon a time",
            Options = new RequestOptions { Temperature = 0, NumPredict = 6, Seed = 3 },
        }))
        {
            text.Append(chunk?.Response);
            done = chunk as GenerateDoneResponseStream ?? done;
        }
        Assert.NotEmpty(text.ToString());
        Assert.NotNull(done);
        Assert.Equal(6, done.EvalCount);
#pragma warning disable CS0618 // Ollama still sends the context; clients that keep it need it to be there
        Assert.NotNull(done.Context);
        Assert.NotEmpty(done.Context);
#pragma warning restore CS0618
    }

    [Fact]
    public async Task Lists_shows_and_reports_version_and_running_models()
    {
        using OllamaApiClient client = Client();
        IEnumerable<Model> models = await client.ListLocalModelsAsync();
        Model model = Assert.Single(models);
        Assert.Equal("stories260K:latest", model.Name);
        Assert.True(model.Size > 1_000_000);
        Assert.Equal("llama", model.Details.Family);

        ShowModelResponse show = await client.ShowModelAsync("stories260K");
        Assert.Equal("llama", show.Details.Family);
        Assert.NotNull(show.Template);

        string version = await client.GetVersionAsync();
        Assert.False(string.IsNullOrEmpty(version));
        Assert.True(await client.IsRunningAsync());

        // After a generation the model is in memory, and /api/ps says until when.
        await foreach (GenerateResponseStream? _ in client.GenerateAsync(new GenerateRequest { Model = "stories260K", Prompt = "Hi", Options = new RequestOptions { NumPredict = 1 } }))
        {
        }
        IEnumerable<RunningModel> running = await client.ListRunningModelsAsync();
        RunningModel loaded = Assert.Single(running);
        Assert.Equal("stories260K:latest", loaded.Name);
        Assert.True(loaded.ExpiresAt > DateTime.UtcNow);
        Assert.True(loaded.ContextLength > 0);
    }

    [Fact]
    public async Task Embeds_through_OllamaSharp()
    {
        using OllamaApiClient client = Client();
        EmbedResponse response = await client.EmbedAsync(new EmbedRequest { Model = "stories260K", Input = ["a cat", "a dog"] });
        Assert.Equal(2, response.Embeddings.Count);
        Assert.Equal(64, response.Embeddings[0].Length);
        double norm = Math.Sqrt(response.Embeddings[0].Sum(v => (double)v * v));
        Assert.Equal(1.0, norm, 3);
    }

    [Fact]
    public async Task Works_as_a_Microsoft_Extensions_AI_chat_client()
    {
        using OllamaApiClient client = Client();
        IChatClient chat = client;
        ChatResponse response = await chat.GetResponseAsync("Tell me a story.", new ChatOptions { Temperature = 0, MaxOutputTokens = 5 });
        Assert.NotEmpty(response.Text);
        Assert.Equal(5, response.Usage?.OutputTokenCount);

        var streamed = new StringBuilder();
        await foreach (ChatResponseUpdate update in chat.GetStreamingResponseAsync("Tell me a story.", new ChatOptions { Temperature = 0, MaxOutputTokens = 5 }))
        {
            streamed.Append(update.Text);
        }
        Assert.Equal(response.Text, streamed.ToString());
    }

    [Fact]
    public async Task Unknown_model_is_an_error_the_client_surfaces()
    {
        using OllamaApiClient client = Client();
        var request = new ChatRequest { Model = "no-such-model", Messages = [new Message { Role = OllamaSharp.Models.Chat.ChatRole.User, Content = "hi" }] };
        // OllamaSharp turns Ollama's 404 {"error": "..."} into an HttpRequestException, as it does with Ollama itself.
        HttpRequestException error = await Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            await foreach (ChatResponseStream? _ in client.ChatAsync(request))
            {
            }
        });
        Assert.Equal(System.Net.HttpStatusCode.NotFound, error.StatusCode);
    }
}
