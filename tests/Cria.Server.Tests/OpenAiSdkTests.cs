using System.ClientModel;
using System.Text;

using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace Cria.Server.Tests;

/// <summary>
/// The official OpenAI .NET SDK, pointed at Cria, works unchanged. (Its legacy completions client is
/// internal in 2.15, so <c>/v1/completions</c> is tested with raw HTTP in <see cref="OpenAiHttpTests"/>.)
/// </summary>
public sealed class OpenAiSdkTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Model = "stories260K";

    private OpenAIClientOptions ClientOptions => new() { Endpoint = new Uri(fixture.Server.BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(30) };

    private ChatClient Chat => new(Model, new ApiKeyCredential("not-needed"), ClientOptions);

    private static readonly ChatMessage[] s_conversation =
    [
        new SystemChatMessage("You tell short stories."),
        new UserChatMessage("Tell me about a cat."),
    ];

    private static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0f, MaxOutputTokenCount = maxTokens, Seed = 42 };

    [Fact]
    public async Task Chat_completion_returns_text_usage_and_finish_reason()
    {
        ChatCompletion completion = await Chat.CompleteChatAsync(s_conversation, Greedy(24));

        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal(Model, completion.Model);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.NotEmpty(completion.Content[0].Text);
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.True(completion.Usage.InputTokenCount > 10);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 24);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.True(DateTimeOffset.UtcNow - completion.CreatedAt < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Greedy_chat_is_deterministic_and_streaming_gives_the_same_text()
    {
        ChatCompletion first = await Chat.CompleteChatAsync(s_conversation, Greedy(32));
        ChatCompletion second = await Chat.CompleteChatAsync(s_conversation, Greedy(32));
        Assert.Equal(first.Content[0].Text, second.Content[0].Text);

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        string? id = null;
        await foreach (StreamingChatCompletionUpdate update in Chat.CompleteChatStreamingAsync(s_conversation, Greedy(32)))
        {
            id ??= update.CompletionId;
            Assert.Equal(id, update.CompletionId);
            foreach (ChatMessageContentPart part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(first.Content[0].Text, streamed.ToString());
        Assert.Equal(first.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(first.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(first.Usage.OutputTokenCount, usage.OutputTokenCount);
    }

    [Fact]
    public async Task Stop_sequences_end_the_text_before_the_stop_string()
    {
        ChatCompletion full = await Chat.CompleteChatAsync(s_conversation, Greedy(32));
        string text = full.Content[0].Text;
        int cut = text.IndexOf(' ', 3);
        Assert.True(cut > 0, $"expected a space in \"{text}\"");
        string stop = text.Substring(cut, 2);
        ChatCompletionOptions options = Greedy(32);
        options.StopSequences.Add(stop);

        ChatCompletion stopped = await Chat.CompleteChatAsync(s_conversation, options);

        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task Models_are_listed_and_found_by_id()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential("not-needed"), ClientOptions);
        OpenAIModelCollection models = await client.GetModelsAsync();
        Assert.Contains(models, m => m.Id == Model && m.OwnedBy == "cria");

        OpenAIModel model = await client.GetModelAsync(Model);
        Assert.Equal(Model, model.Id);
    }

    [Fact]
    public async Task Unknown_model_is_a_client_error_in_the_sdk()
    {
        var chat = new ChatClient("no-such-model", new ApiKeyCredential("not-needed"), ClientOptions);
        ClientResultException e = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync(s_conversation, Greedy(4)));
        Assert.Equal(404, e.Status);
        Assert.Contains("no-such-model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logprobs_come_back_per_token_with_sorted_alternatives_in_both_modes()
    {
        var options = new ChatCompletionOptions { Temperature = 0f, MaxOutputTokenCount = 12, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        ChatCompletion completion = await Chat.CompleteChatAsync(s_conversation, options);
        IReadOnlyList<ChatTokenLogProbabilityDetails> tokens = completion.ContentTokenLogProbabilities;
        Assert.Equal(completion.Usage.OutputTokenCount, tokens.Count);
        Assert.Equal(completion.Content[0].Text, string.Concat(tokens.Select(t => t.Token)));
        foreach (ChatTokenLogProbabilityDetails token in tokens)
        {
            Assert.True(token.LogProbability <= 0);
            Assert.Equal(3, token.TopLogProbabilities.Count);
            Assert.True(token.TopLogProbabilities[0].LogProbability >= token.TopLogProbabilities[1].LogProbability);
            Assert.True(token.TopLogProbabilities[1].LogProbability >= token.TopLogProbabilities[2].LogProbability);
            // Greedy: the chosen token is the most likely one, and its log-probability is the same number
            // (TokenLogprob.Compute takes both as logit − log Z), not a close one.
            Assert.Equal(token.TopLogProbabilities[0].Token, token.Token);
            Assert.Equal(token.TopLogProbabilities[0].LogProbability, token.LogProbability);
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes(token.Token), token.Utf8Bytes?.ToArray());
        }

        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (StreamingChatCompletionUpdate update in Chat.CompleteChatStreamingAsync(s_conversation, options))
        {
            streamed.AddRange(update.ContentTokenLogProbabilities);
        }
        Assert.Equal(tokens.Select(t => t.Token), streamed.Select(t => t.Token));
        Assert.Equal(tokens.Select(t => t.LogProbability), streamed.Select(t => t.LogProbability));

        ChatCompletion without = await Chat.CompleteChatAsync(s_conversation, Greedy(4));
        Assert.Empty(without.ContentTokenLogProbabilities);
    }
}
