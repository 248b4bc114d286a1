using System.Collections.Concurrent;

using Cria.Core.Inference;
using Cria.Core.Models;
using Cria.Core.Templates;
using Cria.Server.Http;

namespace Cria.Server.Engine;

/// <summary>
/// A loaded model as the server uses it: the model, its chat template and a pool of sequence slots
/// (<see cref="InferenceContext"/>s, each allocated once and reused). Invariant: a context is held by
/// at most one generation; the scheduler bounds how many are rented at once, so the pool never holds
/// more than <c>--parallel</c> contexts.
/// </summary>
internal sealed class ServedModel : IDisposable
{
    private readonly ConcurrentBag<InferenceContext> _free = [];
    private readonly string _bosText;
    private readonly string _eosText;

    public ServedModel(string name, LocalModel local, ChatTemplate template, int contextLength)
    {
        Name = name;
        Local = local;
        Template = template;
        ContextLength = contextLength;
        var tokenizer = local.Tokenizer;
        _bosText = tokenizer.BosId >= 0 ? tokenizer.TokenText(tokenizer.BosId) : "";
        _eosText = tokenizer.EosId >= 0 ? tokenizer.TokenText(tokenizer.EosId) : "";
        // A template-less model gets ChatML; when its vocabulary has no <|im_end|> token, the end of
        // the assistant turn can only show up as text, so it is a stop string.
        TemplateStops = template.IsDefault && !tokenizer.TryGetId("<|im_end|>", out _) ? ["<|im_end|>"] : [];
    }

    public string Name { get; }

    public LocalModel Local { get; }

    public ChatTemplate Template { get; }

    /// <summary>Tokens one sequence slot holds: prompt plus generated text.</summary>
    public int ContextLength { get; }

    /// <summary>Stop strings every chat generation gets from the template.</summary>
    public IReadOnlyList<string> TemplateStops { get; }

    /// <summary>
    /// The prompt's token ids. A conversation is rendered with the chat template (which cuts a leading
    /// BOS text, so the tokenizer's own BOS is the only one); control tokens written in the text are parsed.
    /// </summary>
    /// <exception cref="TemplateException">The template failed.</exception>
    public int[] Tokenize(GenerationRequest request)
    {
        var tokenizer = Local.Tokenizer;
        if (request.Messages is { } messages)
        {
            string text = Template.Render(messages, addGenerationPrompt: true, _bosText, _eosText);
            return tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
        }
        if (request.PromptTokens is { } ids)
        {
            int[] prompt = [.. ids];
            foreach (int id in prompt)
            {
                if ((uint)id >= (uint)tokenizer.VocabSize)
                {
                    throw ApiException.BadRequest($"token id {id} is outside the vocabulary (0..{tokenizer.VocabSize - 1})", "prompt");
                }
            }
            return prompt;
        }
        return tokenizer.Encode(request.Prompt ?? "", addSpecial: true, parseSpecial: true);
    }

    public InferenceContext RentContext() =>
        _free.TryTake(out InferenceContext? ctx) ? ctx : Local.Model.CreateContext(ContextLength, cacheType: KvCacheType.F16);

    public void ReturnContext(InferenceContext ctx)
    {
        ctx.Reset();
        _free.Add(ctx);
    }

    public void Dispose() => Local.Dispose();
}
