using System.Text;

using Cria.Core.Inference;
using Cria.Core.Tokenization;

namespace Cria.Server.OpenAi;

/// <summary>
/// Log-probabilities in OpenAI's two shapes. A token is shown as its text; its <c>bytes</c> are the
/// UTF-8 bytes it adds, which matter when a token is part of a multi-byte character (its text is then
/// U+FFFD, and only the bytes of consecutive tokens join into the character).
/// </summary>
internal static class OpenAiLogprobs
{
    public static ChoiceLogprobs? ForChat(IReadOnlyList<TokenLogprob> logprobs, Tokenizer tokenizer, bool wanted)
    {
        if (!wanted)
        {
            return null;
        }
        var content = new List<TokenLogprobDto>(logprobs.Count);
        foreach (TokenLogprob lp in logprobs)
        {
            var top = new List<TopLogprobDto>(lp.Top.Count);
            foreach (TokenAlternative alt in lp.Top)
            {
                top.Add(new TopLogprobDto { Token = Text(tokenizer, alt.Token), Logprob = alt.Logprob, Bytes = Bytes(tokenizer, alt.Token) });
            }
            content.Add(new TokenLogprobDto { Token = Text(tokenizer, lp.Token), Logprob = lp.Logprob, Bytes = Bytes(tokenizer, lp.Token), TopLogprobs = top });
        }
        return new ChoiceLogprobs { Content = content };
    }

    /// <param name="textOffset">Where this piece starts in the whole completion, in characters.</param>
    public static CompletionLogprobs? ForCompletion(IReadOnlyList<TokenLogprob> logprobs, Tokenizer tokenizer, bool wanted, int textOffset)
    {
        if (!wanted)
        {
            return null;
        }
        var result = new CompletionLogprobs { Tokens = [], TokenLogprobs = [], TopLogprobs = [], TextOffset = [] };
        int offset = textOffset;
        foreach (TokenLogprob lp in logprobs)
        {
            string text = Text(tokenizer, lp.Token);
            result.Tokens.Add(text);
            result.TokenLogprobs.Add(lp.Logprob);
            var top = new Dictionary<string, double>(lp.Top.Count);
            foreach (TokenAlternative alt in lp.Top)
            {
                top.TryAdd(Text(tokenizer, alt.Token), alt.Logprob);
            }
            result.TopLogprobs.Add(top);
            result.TextOffset.Add(offset);
            offset += text.Length;
        }
        return result;
    }

    private static string Text(Tokenizer tokenizer, int token) => Encoding.UTF8.GetString(tokenizer.TokenBytes(token, special: true));

    private static List<int> Bytes(Tokenizer tokenizer, int token)
    {
        ReadOnlySpan<byte> bytes = tokenizer.TokenBytes(token, special: true);
        var list = new List<int>(bytes.Length);
        foreach (byte b in bytes)
        {
            list.Add(b);
        }
        return list;
    }
}
