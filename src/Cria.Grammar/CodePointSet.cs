using System.Text;

namespace Cria.Grammar;

/// <summary>
/// An immutable set of Unicode code points (0 to U+10FFFF) as sorted, disjoint, non-adjacent inclusive
/// ranges: what one GBNF character, character class or <c>.</c> matches.
/// </summary>
internal sealed class CodePointSet : IEquatable<CodePointSet>
{
    public const int MaxCodePoint = 0x10FFFF;

    private readonly int[] _ranges; // [2 * count] lo0, hi0, lo1, hi1, ... sorted, disjoint, not touching

    private CodePointSet(int[] ranges)
    {
        _ranges = ranges;
    }

    public static CodePointSet Empty { get; } = new([]);

    public static CodePointSet All { get; } = new([0, MaxCodePoint]);

    public int RangeCount => _ranges.Length / 2;

    public bool IsEmpty => _ranges.Length == 0;

    public static CodePointSet Single(int cp) => new([cp, cp]);

    /// <summary>The union of inclusive (lo, hi) ranges in any order, overlapping or not.</summary>
    public static CodePointSet FromRanges(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var list = ranges.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var merged = new List<int>(list.Count * 2);
        foreach ((int lo, int hi) in list)
        {
            if (merged.Count > 0 && lo <= merged[^1] + 1)
            {
                merged[^1] = Math.Max(merged[^1], hi);
            }
            else
            {
                merged.Add(lo);
                merged.Add(hi);
            }
        }
        return new CodePointSet([.. merged]);
    }

    public (int Lo, int Hi) Range(int i) => (_ranges[2 * i], _ranges[2 * i + 1]);

    public IEnumerable<(int Lo, int Hi)> Ranges()
    {
        for (int i = 0; i < _ranges.Length; i += 2)
        {
            yield return (_ranges[i], _ranges[i + 1]);
        }
    }

    public bool Contains(int cp)
    {
        int[] r = _ranges;
        if (r.Length <= 8)
        {
            for (int i = 0; i < r.Length; i += 2)
            {
                if (cp <= r[i + 1])
                {
                    return cp >= r[i];
                }
            }
            return false;
        }
        int a = 0, b = r.Length / 2 - 1;
        while (a <= b)
        {
            int m = (a + b) >> 1;
            if (cp < r[2 * m])
            {
                b = m - 1;
            }
            else if (cp > r[2 * m + 1])
            {
                a = m + 1;
            }
            else
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when some code point in [lo, hi] is in the set.</summary>
    public bool Intersects(int lo, int hi)
    {
        for (int i = 0; i < _ranges.Length; i += 2)
        {
            if (_ranges[i] <= hi && lo <= _ranges[i + 1])
            {
                return true;
            }
        }
        return false;
    }

    public CodePointSet Complement()
    {
        var result = new List<(int, int)>();
        int next = 0;
        foreach ((int lo, int hi) in Ranges())
        {
            if (lo > next)
            {
                result.Add((next, lo - 1));
            }
            next = hi + 1;
        }
        if (next <= MaxCodePoint)
        {
            result.Add((next, MaxCodePoint));
        }
        return FromRanges(result);
    }

    public CodePointSet Union(CodePointSet other) => FromRanges(Ranges().Concat(other.Ranges()));

    /// <summary>The code points of this set that are not in <paramref name="other"/>: ¬(¬this ∪ other).</summary>
    public CodePointSet Except(CodePointSet other) => Complement().Union(other).Complement();

    public CodePointSet Intersect(CodePointSet other) => Complement().Union(other.Complement()).Complement();

    public bool Equals(CodePointSet? other) => other is not null && _ranges.AsSpan().SequenceEqual(other._ranges);

    public override bool Equals(object? obj) => Equals(obj as CodePointSet);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int x in _ranges)
        {
            h.Add(x);
        }
        return h.ToHashCode();
    }

    /// <summary>GBNF text for the set: a one-character literal, a class, or <c>.</c>.</summary>
    public override string ToString()
    {
        if (Equals(All))
        {
            return ".";
        }
        var sb = new StringBuilder("[");
        foreach ((int lo, int hi) in Ranges())
        {
            GbnfText.AppendClassChar(sb, lo);
            if (hi > lo)
            {
                if (hi > lo + 1)
                {
                    sb.Append('-');
                }
                GbnfText.AppendClassChar(sb, hi);
            }
        }
        return sb.Append(']').ToString();
    }
}
