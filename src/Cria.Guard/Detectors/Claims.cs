namespace Cria.Guard.Detectors;

/// <summary>
/// The spans one detector call has claimed, so that a later pass (a phone number inside a card number) does not
/// report the same text again. Invariant: the claimed spans are disjoint and <see cref="_sorted"/> is ordered by
/// start, so the only span that can overlap a new one is its predecessor: a binary search, not a scan, which keeps
/// a text with a hundred thousand findings linear.
/// </summary>
internal sealed class Claims
{
    private readonly List<(int Start, int End)> _sorted = [];
    private readonly List<(int Start, int End)> _pass = [];

    public bool TryClaim(int start, int end)
    {
        if (_pass.Count > 0 && _pass[^1].End > start && _pass[^1].Start < end)
        {
            return false;
        }
        int lo = 0, hi = _sorted.Count - 1, before = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_sorted[mid].Start < end)
            {
                before = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (before >= 0 && _sorted[before].End > start)
        {
            return false;
        }
        _pass.Add((start, end));
        return true;
    }

    /// <summary>Ends a pass (whose spans came in order of start): merges them into the sorted claims.</summary>
    public void EndPass()
    {
        if (_pass.Count == 0)
        {
            return;
        }
        _pass.Sort();
        if (_sorted.Count == 0 || _sorted[^1].Start < _pass[0].Start)
        {
            _sorted.AddRange(_pass);
        }
        else
        {
            _sorted.AddRange(_pass);
            _sorted.Sort();
        }
        _pass.Clear();
    }
}
