using System.Text;

namespace Cria.Grammar.Tests;

/// <summary>
/// A deliberately naive reference for <see cref="GrammarMatcher"/>: llama.cpp's set-of-stacks over code points,
/// stacks as copied int arrays, no interning, no caching, no byte automaton, written from the definition.
/// <see cref="IsViable(ReadOnlySpan{byte})"/> answers "can the grammar still match text that starts with these bytes?", the question
/// a token mask answers for every token.
/// </summary>
internal sealed class NaiveRecognizer
{
    private readonly GrammarProgram _p;

    public NaiveRecognizer(CompiledGrammar grammar)
    {
        _p = grammar.Program;
    }

    /// <summary>True when <paramref name="utf8"/> is a prefix of some sentence (a trailing incomplete character counts if some completion fits).</summary>
    public bool IsViable(ReadOnlySpan<byte> utf8) => IsViable(Read([]), utf8);

    /// <summary>The parses after <paramref name="utf8"/>'s complete characters, and the bytes of a trailing incomplete one; null when none is left.</summary>
    public (List<int[]> Stacks, byte[] Pending)? Read(ReadOnlySpan<byte> utf8)
    {
        List<int[]> stacks = Start();
        int i = 0;
        while (i < utf8.Length)
        {
            int need = Length(utf8[i]);
            if (need == 0)
            {
                return null;
            }
            if (i + need > utf8.Length)
            {
                return (stacks, utf8[i..].ToArray());
            }
            if (System.Text.Rune.DecodeFromUtf8(utf8.Slice(i, need), out System.Text.Rune r, out int used) != System.Buffers.OperationStatus.Done || used != need)
            {
                return null;
            }
            stacks = Advance(stacks, r.Value);
            if (stacks.Count == 0)
            {
                return null;
            }
            i += need;
        }
        return (stacks, []);
    }

    /// <summary>True when the text read into <paramref name="state"/> followed by <paramref name="more"/> is a prefix of some sentence.</summary>
    public bool IsViable((List<int[]> Stacks, byte[] Pending)? state, ReadOnlySpan<byte> more)
    {
        if (state is not { } s)
        {
            return false;
        }
        List<int[]> stacks = s.Stacks;
        byte[] utf8 = [.. s.Pending, .. more];
        int i = 0;
        while (i < utf8.Length)
        {
            int need = Length(utf8[i]);
            if (need == 0)
            {
                return false;
            }
            if (i + need > utf8.Length)
            {
                return PartialFits(stacks, utf8.AsSpan(i), need);
            }
            if (System.Text.Rune.DecodeFromUtf8(utf8.AsSpan(i, need), out System.Text.Rune r, out int used) != System.Buffers.OperationStatus.Done || used != need)
            {
                return false;
            }
            stacks = Advance(stacks, r.Value);
            if (stacks.Count == 0)
            {
                return false;
            }
            i += need;
        }
        return true;
    }

    private static int Length(byte lead) => lead switch { < 0x80 => 1, >= 0xC2 and < 0xE0 => 2, >= 0xE0 and < 0xF0 => 3, >= 0xF0 and <= 0xF4 => 4, _ => 0 };

    /// <summary>True when the whole of <paramref name="text"/> is a sentence.</summary>
    public bool Matches(string text)
    {
        List<int[]> stacks = Start();
        foreach (System.Text.Rune r in text.EnumerateRunes())
        {
            stacks = Advance(stacks, r.Value);
        }
        return stacks.Exists(s => s.Length == 0);
    }

    private bool PartialFits(List<int[]> stacks, ReadOnlySpan<byte> prefix, int need)
    {
        // every code point whose UTF-8 starts with these bytes, tried one by one (at most 262,144; only for prefixes a vocabulary holds)
        int lo = need switch { 2 => 0x80, 3 => 0x800, _ => 0x10000 };
        int hi = need switch { 2 => 0x7FF, 3 => 0xFFFF, _ => 0x10FFFF };
        Span<byte> buffer = stackalloc byte[4];
        int value = prefix[0] & (0x7F >> need);
        for (int k = 1; k < prefix.Length; k++)
        {
            value = (value << 6) | (prefix[k] & 0x3F);
        }
        int shift = 6 * (need - prefix.Length);
        int first = Math.Max(lo, value << shift);
        int last = Math.Min(hi, (value << shift) | ((1 << shift) - 1));
        for (int cp = first; cp <= last; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }
            new System.Text.Rune(cp).EncodeToUtf8(buffer);
            if (!buffer[..prefix.Length].SequenceEqual(prefix))
            {
                continue;
            }
            if (stacks.Exists(s => s.Length > 0 && _p.Sets[_p.Elements[s[^1]].Value].Contains(cp)))
            {
                return true;
            }
        }
        return false;
    }

    private List<int[]> Start()
    {
        var result = new List<int[]>();
        var seen = new HashSet<string>();
        foreach (int start in _p.Alternatives[_p.Root])
        {
            Expand([start], result, seen);
        }
        return result;
    }

    private List<int[]> Advance(List<int[]> stacks, int cp)
    {
        var result = new List<int[]>();
        var seen = new HashSet<string>();
        foreach (int[] s in stacks)
        {
            if (s.Length > 0 && _p.Sets[_p.Elements[s[^1]].Value].Contains(cp))
            {
                int[] next = [.. s];
                next[^1]++;
                Expand(next, result, seen);
            }
        }
        return result;
    }

    /// <summary>Adds the stacks <paramref name="stack"/> (bottom first, top last) stands for once its top is a character class.</summary>
    private void Expand(int[] stack, List<int[]> output, HashSet<string> seen)
    {
        if (!seen.Add(string.Join(",", stack)))
        {
            return;
        }
        if (stack.Length == 0)
        {
            output.Add(stack);
            return;
        }
        GrammarElement e = _p.Elements[stack[^1]];
        switch (e.Kind)
        {
            case ElementKind.Chars:
                output.Add(stack);
                break;
            case ElementKind.End:
                Expand(stack[..^1], output, seen);
                break;
            default:
                int[] below = [.. stack];
                below[^1]++;
                if (_p.Elements[below[^1]].Kind == ElementKind.End)
                {
                    below = below[..^1];
                }
                foreach (int start in _p.Alternatives[e.Value])
                {
                    Expand([.. below, start], output, seen);
                }
                break;
        }
    }

    /// <summary>Text for failure messages.</summary>
    public static string Show(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes).Replace("\n", "\\n", StringComparison.Ordinal);
}
