using System.Runtime.CompilerServices;

using Cria.Guard.Policy;
using Cria.Guard.Rails;

using Microsoft.Extensions.AI;

namespace Cria.Guard.AI;

/// <summary>
/// The guard's rails around any <see cref="IChatClient"/>, as middleware: every message's text goes through the
/// policy's input rail (a block throws <see cref="GuardBlockedException"/> before the inner client is called, a
/// redaction is what it receives); a response's text through the output rail, whole or — streamed — through the same
/// hold-back window as <c>cria serve</c>, so nothing a rail would block or redact is yielded; a blocked answer ends with
/// <see cref="ChatFinishReason.ContentFilter"/>. Function-call arguments go through the tool_calls rail, string by
/// string. Placeholders are consistent within one call. Stateless between calls and thread-safe.
/// </summary>
public sealed class GuardedChatClient(IChatClient inner, GuardPolicy policy) : DelegatingChatClient(inner)
{
    public GuardPolicy Policy { get; } = policy ?? throw new ArgumentNullException(nameof(policy));

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var redactor = new Redactor();
        List<ChatMessage> input = await CheckInputAsync(messages, redactor, cancellationToken).ConfigureAwait(false);
        ChatResponse response = await base.GetResponseAsync(input, options, cancellationToken).ConfigureAwait(false);
        foreach (ChatMessage message in response.Messages)
        {
            for (int i = 0; i < message.Contents.Count; i++)
            {
                switch (message.Contents[i])
                {
                    case TextContent text when !Policy.Output.IsEmpty:
                        RailResult r = await Policy.Output.EvaluateAsync(text.Text ?? "", redactor, cancellationToken).ConfigureAwait(false);
                        if (r.Blocking is not null)
                        {
                            return Filtered(response);
                        }
                        message.Contents[i] = new TextContent(r.Text);
                        break;
                    case FunctionCallContent call when !Policy.ToolCalls.IsEmpty && call.Arguments is not null:
                        foreach (string key in call.Arguments.Keys.ToList())
                        {
                            if (call.Arguments[key] is string value)
                            {
                                RailResult a = await Policy.ToolCalls.EvaluateAsync(value, redactor, cancellationToken).ConfigureAwait(false);
                                if (a.Blocking is not null)
                                {
                                    return Filtered(response);
                                }
                                call.Arguments[key] = a.Text;
                            }
                        }
                        break;
                }
            }
        }
        return response;
    }

    private static ChatResponse Filtered(ChatResponse response) =>
        new(new ChatMessage(ChatRole.Assistant, "")) { FinishReason = ChatFinishReason.ContentFilter, ResponseId = response.ResponseId, ModelId = response.ModelId, Usage = response.Usage };

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var redactor = new Redactor();
        List<ChatMessage> input = await CheckInputAsync(messages, redactor, cancellationToken).ConfigureAwait(false);
        StreamRail? stream = Policy.Output.IsEmpty ? null : new StreamRail(Policy.Output, redactor, Policy.HoldBack);
        ChatResponseUpdate? last = null;
        await foreach (ChatResponseUpdate update in base.GetStreamingResponseAsync(input, options, cancellationToken).ConfigureAwait(false))
        {
            last = update;
            if (stream is null)
            {
                yield return update;
                continue;
            }
            string released = stream.Push(update.Text);
            if (stream.Blocked is not null)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, "") { FinishReason = ChatFinishReason.ContentFilter, ResponseId = update.ResponseId, ModelId = update.ModelId };
                yield break;
            }
            // Everything but the text passes as it came (finish reason, usage, ids); the text is what the rail released.
            var contents = update.Contents.Where(c => c is not TextContent).ToList();
            if (released.Length > 0)
            {
                contents.Insert(0, new TextContent(released));
            }
            if (contents.Count > 0 || update.FinishReason is not null)
            {
                yield return new ChatResponseUpdate(update.Role ?? ChatRole.Assistant, contents) { FinishReason = update.FinishReason, ResponseId = update.ResponseId, ModelId = update.ModelId };
            }
        }
        if (stream is not null)
        {
            string rest = stream.Finish();
            if (stream.Blocked is not null)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, "") { FinishReason = ChatFinishReason.ContentFilter, ResponseId = last?.ResponseId };
            }
            else if (rest.Length > 0)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, rest) { ResponseId = last?.ResponseId };
            }
        }
    }

    private async Task<List<ChatMessage>> CheckInputAsync(IEnumerable<ChatMessage> messages, Redactor redactor, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var checkedMessages = new List<ChatMessage>();
        foreach (ChatMessage message in messages)
        {
            if (Policy.Input.IsEmpty || !message.Contents.Any(c => c is TextContent))
            {
                checkedMessages.Add(message);
                continue;
            }
            var contents = new List<AIContent>(message.Contents.Count);
            foreach (AIContent content in message.Contents)
            {
                if (content is TextContent text)
                {
                    RailResult r = await Policy.Input.EvaluateAsync(text.Text ?? "", redactor, cancel).ConfigureAwait(false);
                    if (r.Blocking is { } blocking)
                    {
                        throw new GuardBlockedException(GuardStage.Input, blocking);
                    }
                    contents.Add(ReferenceEquals(r.Text, text.Text) ? text : new TextContent(r.Text));
                }
                else
                {
                    contents.Add(content);
                }
            }
            checkedMessages.Add(new ChatMessage(message.Role, contents) { AuthorName = message.AuthorName, MessageId = message.MessageId });
        }
        return checkedMessages;
    }
}
