namespace Cria.Core.Tokenization;

/// <summary>
/// GPT-2's pre-tokenizer regex, <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>,
/// written out as a scanner over code points, as llama.cpp's <c>unicode_regex_split_custom_gpt2</c>
/// does, so that categories are per code point (no UTF-16 surrogate halves) and the result is
/// the same as llama.cpp's on every input.
/// </summary>
internal sealed class Gpt2Split : SplitStep
{
    public override void Split(CodepointText text, int start, int end, List<TextPiece> output)
    {
        int emitted = start;
        int pos = start;
        while (pos < end)
        {
            int cp = text[pos];

            // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
            if (cp == '\'' && pos + 1 < end)
            {
                int next = text[pos + 1];
                if (next is 's' or 't' or 'm' or 'd')
                {
                    pos = Emit(output, ref emitted, pos + 2);
                    continue;
                }
                if (pos + 2 < end)
                {
                    int next2 = text[pos + 2];
                    if ((next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l'))
                    {
                        pos = Emit(output, ref emitted, pos + 3);
                        continue;
                    }
                }
            }

            // " ?" followed by a letter run, a number run, or a run of anything else but space
            int body = cp == ' ' ? pos + 1 : pos;
            CodepointFlags first = FlagsAt(text, body, end);
            if ((first & CodepointFlags.Letter) != 0)
            {
                pos = Emit(output, ref emitted, RunEnd(text, body, end, CodepointFlags.Letter));
                continue;
            }
            if ((first & CodepointFlags.Number) != 0)
            {
                pos = Emit(output, ref emitted, RunEnd(text, body, end, CodepointFlags.Number));
                continue;
            }
            if (IsOther(first))
            {
                int p = body;
                while (IsOther(FlagsAt(text, p, end)))
                {
                    p++;
                }
                pos = Emit(output, ref emitted, p);
                continue;
            }

            int spaces = 0;
            while ((FlagsAt(text, pos + spaces, end) & CodepointFlags.Whitespace) != 0)
            {
                spaces++;
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

    private static int RunEnd(CodepointText text, int p, int end, CodepointFlags cls)
    {
        while ((FlagsAt(text, p, end) & cls) != 0)
        {
            p++;
        }
        return p;
    }
}
