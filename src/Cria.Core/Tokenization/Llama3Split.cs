namespace Cria.Core.Tokenization;

/// <summary>
/// The Llama 3 pre-tokenizer regex,
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>,
/// as a scanner over code points (llama.cpp's <c>unicode_regex_split_custom_llama3</c>). With
/// <c>maxDigits = 1</c> it is Qwen2's regex, which differs only in <c>\p{N}</c> for <c>\p{N}{1,3}</c>.
/// </summary>
internal sealed class Llama3Split(int maxDigits) : SplitStep
{
    public override void Split(CodepointText text, int start, int end, List<TextPiece> output)
    {
        int emitted = start;
        int pos = start;
        while (pos < end)
        {
            int cp = text[pos];
            CodepointFlags flags = Codepoints.Flags(cp);

            // (?i:'s|'t|'re|'ve|'m|'ll|'d): only ASCII letters lower-case to these, so ASCII folding is exact
            if (cp == '\'' && pos + 1 < end)
            {
                int next = AsciiLower(text[pos + 1]);
                if (next is 's' or 't' or 'm' or 'd')
                {
                    pos = Emit(output, ref emitted, pos + 2);
                    continue;
                }
                if (pos + 2 < end)
                {
                    int next2 = AsciiLower(text[pos + 2]);
                    if ((next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l'))
                    {
                        pos = Emit(output, ref emitted, pos + 3);
                        continue;
                    }
                }
            }

            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (!(cp == '\r' || cp == '\n' || (flags & CodepointFlags.Number) != 0)
                && ((flags & CodepointFlags.Letter) != 0 || (FlagsAt(text, pos + 1, end) & CodepointFlags.Letter) != 0))
            {
                int p = pos + 1;
                while ((FlagsAt(text, p, end) & CodepointFlags.Letter) != 0)
                {
                    p++;
                }
                pos = Emit(output, ref emitted, p);
                continue;
            }

            // \p{N}{1,maxDigits}, repeated while digits last
            if ((flags & CodepointFlags.Number) != 0)
            {
                int groupStart = pos;
                while ((FlagsAt(text, pos, end) & CodepointFlags.Number) != 0)
                {
                    pos++;
                    if (pos - groupStart >= maxDigits)
                    {
                        Emit(output, ref emitted, pos);
                        groupStart = pos;
                    }
                }
                Emit(output, ref emitted, pos);
                continue;
            }

            // " ?[^\s\p{L}\p{N}]+[\r\n]*"
            int body = cp == ' ' ? pos + 1 : pos;
            if (IsOther(FlagsAt(text, body, end)))
            {
                int p = body;
                while (IsOther(FlagsAt(text, p, end)))
                {
                    p++;
                }
                while (p < end && text[p] is '\r' or '\n')
                {
                    p++;
                }
                pos = Emit(output, ref emitted, p);
                continue;
            }

            int spaces = 0;
            int afterLastNewline = 0;
            while ((FlagsAt(text, pos + spaces, end) & CodepointFlags.Whitespace) != 0)
            {
                if (text[pos + spaces] is '\r' or '\n')
                {
                    afterLastNewline = pos + spaces + 1;
                }
                spaces++;
            }
            if (afterLastNewline > 0)
            {
                // \s*[\r\n]+
                pos = Emit(output, ref emitted, afterLastNewline);
                continue;
            }
            if (spaces > 1 && pos + spaces < end)
            {
                // \s+(?!\S): leave the last space to start the next word
                pos = Emit(output, ref emitted, pos + spaces - 1);
                continue;
            }
            pos = Emit(output, ref emitted, pos + Math.Max(spaces, 1));
        }
    }

    private static int AsciiLower(int cp) => cp is >= 'A' and <= 'Z' ? cp + 32 : cp;
}
