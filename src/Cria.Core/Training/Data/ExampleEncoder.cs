using Cria.Core.Tokenization;
using Cria.Templates;

namespace Cria.Core.Training.Data;

/// <summary>An example as tokens, with the tokens the loss learns (a token is learned when it is predicted from the one before).</summary>
public sealed record TokenizedExample(int[] Tokens, bool[] Trainable, int Line)
{
    public int TrainableCount => Trainable.Skip(1).Count(b => b);
}

/// <summary>
/// Turns records into tokens the way inference will see them. Text: BOS (per the vocabulary) + text +
/// EOS, all learned. Prompt/completion: the tokens of prompt + completion + EOS; the completion and EOS
/// are learned. Conversations: rendered with the model's chat template (ChatML when it has none),
/// control tokens parsed, the template's own BOS text cut (the tokenizer adds BOS) but its end-of-turn
/// and EOS text kept; each assistant turn is learned, found by rendering the conversation up to that
/// turn with the generation prompt (its start) and through it (its end). Where a boundary falls
/// inside a token (the tokenization of the prefix is not a prefix of the whole), the span starts at
/// the first token that differs.
/// </summary>
public sealed class ExampleEncoder
{
    private readonly Tokenizer _tokenizer;
    private readonly ChatTemplate _template;
    private readonly string _bos;
    private readonly string _eos;

    public ExampleEncoder(Tokenizer tokenizer, string? chatTemplateSource)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _template = new ChatTemplate(string.IsNullOrWhiteSpace(chatTemplateSource) ? ChatTemplate.DefaultSource : chatTemplateSource) { StripBosEos = false };
        _bos = tokenizer.BosId >= 0 ? tokenizer.TokenText(tokenizer.BosId) : "";
        _eos = tokenizer.EosId >= 0 ? tokenizer.TokenText(tokenizer.EosId) : "";
    }

    /// <summary>Whether conversations use the built-in ChatML template (the model has none).</summary>
    public bool UsesDefaultTemplate => _template.IsDefault;

    /// <exception cref="DatasetException">The chat template failed on the record.</exception>
    public TokenizedExample Encode(TrainingRecord record, string path)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Kind switch
        {
            RecordKind.Text => Whole(record),
            RecordKind.PromptCompletion => PromptCompletion(record),
            _ => Conversation(record, path),
        };
    }

    private int[] WithEos(int[] tokens)
    {
        if (_tokenizer.EosId < 0 || (tokens.Length > 0 && tokens[^1] == _tokenizer.EosId))
        {
            return tokens;
        }
        return [.. tokens, _tokenizer.EosId];
    }

    private TokenizedExample Whole(TrainingRecord r)
    {
        int[] tokens = WithEos(_tokenizer.Encode(r.Text, addSpecial: true));
        return new TokenizedExample(tokens, [.. tokens.Select(_ => true)], r.Line);
    }

    private TokenizedExample PromptCompletion(TrainingRecord r)
    {
        int[] full = WithEos(_tokenizer.Encode(r.Prompt + r.Completion, addSpecial: true));
        int[] prompt = _tokenizer.Encode(r.Prompt, addSpecial: true);
        int start = CommonPrefix(prompt, full);
        var trainable = new bool[full.Length];
        trainable.AsSpan(start).Fill(true);
        return new TokenizedExample(full, trainable, r.Line);
    }

    private TokenizedExample Conversation(TrainingRecord r, string path)
    {
        IReadOnlyList<ChatMessage> messages = r.Messages;
        int[] full = Tokens(Render(messages, messages.Count, addGenerationPrompt: false, path, r.Line));
        var trainable = new bool[full.Length];
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != "assistant")
            {
                continue;
            }
            int[] before = Tokens(Render(messages, i, addGenerationPrompt: true, path, r.Line));
            int[] through = Tokens(Render(messages, i + 1, addGenerationPrompt: false, path, r.Line));
            int start = CommonPrefix(before, full);
            int end = CommonPrefix(through, full);
            trainable.AsSpan(start, Math.Max(0, end - start)).Fill(true);
        }
        return new TokenizedExample(full, trainable, r.Line);
    }

    private string Render(IReadOnlyList<ChatMessage> messages, int count, bool addGenerationPrompt, string path, int line)
    {
        string text;
        try
        {
            text = _template.Render([.. messages.Take(count)], addGenerationPrompt, _bos, _eos);
        }
        catch (TemplateException e)
        {
            throw new DatasetException(path, line, $"the chat template failed on this conversation: {e.Message}");
        }
        return _bos.Length > 0 && text.StartsWith(_bos, StringComparison.Ordinal) ? text[_bos.Length..] : text;
    }

    private int[] Tokens(string text) => _tokenizer.Encode(text, addSpecial: true, parseSpecial: true);

    private static int CommonPrefix(int[] a, int[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        int i = 0;
        while (i < n && a[i] == b[i])
        {
            i++;
        }
        return i;
    }
}
