namespace Cria.Grammar;

/// <summary>
/// Proofs that matching a <see cref="GrammarProgram"/> terminates: no rule reachable from the root can
/// reach itself before reading a character (left recursion, including a repetition of something that
/// can match nothing), and each such rule can finish (derives some finite string). All passes are
/// worklists or iterative searches, linear in the grammar's size, so a huge grammar cannot overflow the stack.
/// </summary>
internal static class GrammarChecks
{
    /// <param name="program">The grammar.</param>
    /// <param name="sourceRules">Rules [0, sourceRules) are the ones written in the source; the rest are helpers.</param>
    /// <param name="isLoop">[rules] the helper of an unbounded repetition.</param>
    /// <param name="error">Makes the exception for a rule (its place in the source) and a message.</param>
    public static void Run(GrammarProgram program, int sourceRules, bool[] isLoop, Func<int, string, GrammarException> error)
    {
        bool[] reachable = Reachable(program);
        bool[] nullable = Fixpoint(program, static _ => false);
        CheckLeftRecursion(program, reachable, nullable, sourceRules, isLoop, error);
        bool[] productive = Fixpoint(program, static set => !set.IsEmpty);
        if (FirstUnproductive(program, reachable, productive, sourceRules) is int culprit and >= 0)
        {
            throw error(culprit, $"rule '{program.RuleNames[culprit]}' can never finish: every alternative needs a rule that cannot finish (itself, or a class that matches nothing)");
        }
    }

    /// <summary>
    /// The rule to blame when some reachable rule cannot finish: follow unfinishable references from the
    /// root until a rule repeats (the loop at the bottom; its first source rule) or one has none left (an empty class).
    /// </summary>
    private static int FirstUnproductive(GrammarProgram p, bool[] reachable, bool[] productive, int sourceRules)
    {
        int start = -1;
        for (int r = 0; r < productive.Length && start < 0; r++)
        {
            if (reachable[r] && !productive[r])
            {
                start = r;
            }
        }
        if (start < 0)
        {
            return -1;
        }
        var order = new List<int>();
        var seen = new Dictionary<int, int>();
        int current = start;
        while (!seen.ContainsKey(current))
        {
            seen[current] = order.Count;
            order.Add(current);
            int next = -1;
            foreach (int alt in p.Alternatives[current])
            {
                for (int i = alt; p.Elements[i].Kind != ElementKind.End && next < 0; i++)
                {
                    if (p.Elements[i] is { Kind: ElementKind.Rule, Value: int x } && !productive[x])
                    {
                        next = x;
                    }
                }
            }
            if (next < 0)
            {
                return current;
            }
            current = next;
        }
        List<int> loop = order.GetRange(seen[current], order.Count - seen[current]);
        return loop.Exists(r => r < sourceRules) ? loop.Find(r => r < sourceRules) : loop[0];
    }

    private static bool[] Reachable(GrammarProgram p)
    {
        var seen = new bool[p.Alternatives.Length];
        var work = new Stack<int>();
        seen[p.Root] = true;
        work.Push(p.Root);
        while (work.Count > 0)
        {
            int r = work.Pop();
            foreach (int start in p.Alternatives[r])
            {
                for (int i = start; p.Elements[i].Kind != ElementKind.End; i++)
                {
                    if (p.Elements[i] is { Kind: ElementKind.Rule, Value: int x } && !seen[x])
                    {
                        seen[x] = true;
                        work.Push(x);
                    }
                }
            }
        }
        return seen;
    }

    /// <summary>
    /// The least fixpoint of "a rule holds when one of its alternatives has only elements that hold", where a
    /// character set holds when <paramref name="charsHold"/> says so: nullable (sets never hold) or
    /// productive (non-empty sets hold). Worklist over reverse references, so it is linear.
    /// </summary>
    private static bool[] Fixpoint(GrammarProgram p, Func<CodePointSet, bool> charsHold)
    {
        int rules = p.Alternatives.Length;
        var holds = new bool[rules];
        var waiting = new List<int>();        // [alternatives] rule elements not yet known to hold; -1 never
        var owner = new List<int>();          // [alternatives] its rule
        var users = new List<int>?[rules];    // rule → alternatives that reference it (once per reference)
        var work = new Stack<int>();
        for (int r = 0; r < rules; r++)
        {
            foreach (int start in p.Alternatives[r])
            {
                int alt = waiting.Count;
                int count = 0;
                for (int i = start; p.Elements[i].Kind != ElementKind.End; i++)
                {
                    GrammarElement e = p.Elements[i];
                    if (e.Kind == ElementKind.Chars)
                    {
                        if (!charsHold(p.Sets[e.Value]))
                        {
                            count = -1;
                            break;
                        }
                    }
                    else
                    {
                        count++;
                        (users[e.Value] ??= []).Add(alt);
                    }
                }
                waiting.Add(count);
                owner.Add(r);
                if (count == 0 && !holds[r])
                {
                    holds[r] = true;
                    work.Push(r);
                }
            }
        }
        while (work.Count > 0)
        {
            int x = work.Pop();
            if (users[x] is not { } alts)
            {
                continue;
            }
            foreach (int alt in alts)
            {
                if (waiting[alt] > 0 && --waiting[alt] == 0 && !holds[owner[alt]])
                {
                    holds[owner[alt]] = true;
                    work.Push(owner[alt]);
                }
            }
        }
        return holds;
    }

    private static void CheckLeftRecursion(GrammarProgram p, bool[] reachable, bool[] nullable, int sourceRules, bool[] isLoop, Func<int, string, GrammarException> error)
    {
        int rules = p.Alternatives.Length;
        // left corners: r → x when x can be the first thing r reads (everything before it can match nothing)
        var corners = new List<int>[rules];
        for (int r = 0; r < rules; r++)
        {
            corners[r] = [];
            foreach (int start in p.Alternatives[r])
            {
                for (int i = start; p.Elements[i].Kind == ElementKind.Rule; i++)
                {
                    corners[r].Add(p.Elements[i].Value);
                    if (!nullable[p.Elements[i].Value])
                    {
                        break;
                    }
                }
            }
        }
        var color = new byte[rules]; // 0 new, 1 on the path, 2 done
        var path = new List<(int Rule, int Next)>();
        for (int s = 0; s < rules; s++)
        {
            if (!reachable[s] || color[s] != 0)
            {
                continue;
            }
            color[s] = 1;
            path.Add((s, 0));
            while (path.Count > 0)
            {
                (int r, int next) = path[^1];
                if (next == corners[r].Count)
                {
                    color[r] = 2;
                    path.RemoveAt(path.Count - 1);
                    continue;
                }
                path[^1] = (r, next + 1);
                int x = corners[r][next];
                if (color[x] == 1)
                {
                    throw LeftRecursion(p, path, x, sourceRules, isLoop, error);
                }
                if (color[x] == 0)
                {
                    color[x] = 1;
                    path.Add((x, 0));
                }
            }
        }
    }

    private static GrammarException LeftRecursion(GrammarProgram p, List<(int Rule, int Next)> path, int again, int sourceRules, bool[] isLoop, Func<int, string, GrammarException> error)
    {
        int from = path.FindIndex(f => f.Rule == again);
        List<int> cycle = [.. path.Skip(from).Select(f => f.Rule)];
        int loop = cycle.Find(r => isLoop[r]);
        if (cycle.Exists(r => isLoop[r]))
        {
            return error(loop, "the repeated expression can match the empty string, so the repetition could loop forever");
        }
        int named = cycle.Exists(r => r < sourceRules) ? cycle.Find(r => r < sourceRules) : cycle[0];
        string chain = string.Join(" → ", cycle.Select(r => p.RuleNames[r]).Append(p.RuleNames[again]));
        return error(named, $"rule '{p.RuleNames[named]}' is left-recursive ({chain}): it can reach itself without reading a character, which would loop forever");
    }
}
