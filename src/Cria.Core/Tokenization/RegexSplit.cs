using System.Text;
using System.Text.RegularExpressions;

namespace Cria.Core.Tokenization;

/// <summary>
/// A Hugging Face <c>Split</c> pre-tokenizer pattern that has no scanner here, run with .NET's
/// regex engine (matches and gaps kept, "Isolated"). .NET matches over UTF-16, so <c>\p{..}</c> does
/// not see characters outside the BMP as letters; the known patterns avoid this by using the
/// code-point scanners instead. The regex carries a match timeout
/// (<see cref="PreTokenizer.MatchTimeout"/>); running past it is a <see cref="TokenizerException"/> naming the
/// file and the pattern.
/// </summary>
/// <param name="source">The tokenizer file the pattern came from, for errors.</param>
/// <param name="index">The pattern's place in the file's Split sequence, for errors.</param>
internal sealed class RegexSplit(Regex regex, string source, int index) : SplitStep
{
    public override void Split(CodepointText text, int start, int end, List<TextPiece> output)
    {
        var sb = new StringBuilder(end - start);
        var cpIndex = new List<int>(end - start + 1); // UTF-16 index in sb -> code point index in text
        for (int i = start; i < end; i++)
        {
            var rune = new Rune(text[i]);
            for (int k = 0; k < rune.Utf16SequenceLength; k++)
            {
                cpIndex.Add(i);
            }
            sb.Append(rune.ToString());
        }
        cpIndex.Add(end);
        string s = sb.ToString();

        int emitted = start;
        try
        {
            SplitMatches(s, cpIndex, output, ref emitted);
        }
        catch (RegexMatchTimeoutException e)
        {
            throw new TokenizerException(
                $"{source}: pre-tokenizer split pattern {index} ran past {(int)e.MatchTimeout.TotalMilliseconds} ms on a {end - start}-character piece (a pattern that backtracks without bound?)",
                e);
        }
        Emit(output, ref emitted, end);
    }

    private void SplitMatches(string s, List<int> cpIndex, List<TextPiece> output, ref int emitted)
    {
        foreach (ValueMatch m in regex.EnumerateMatches(s))
        {
            int from = cpIndex[m.Index];
            int to = cpIndex[m.Index + m.Length];
            if (to <= from || from < emitted)
            {
                continue; // empty, or inside a surrogate pair already emitted
            }
            Emit(output, ref emitted, from);
            Emit(output, ref emitted, to);
        }
    }
}
