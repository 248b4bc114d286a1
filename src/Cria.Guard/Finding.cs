namespace Cria.Guard;

/// <summary>
/// One thing a detector found: which detector, what kind (<c>email</c>, <c>aws_access_key</c>, …), the span
/// [<see cref="Start"/>, <see cref="End"/>) in UTF-16 code units of the text it was given, and a score in
/// [0, 1] (1: a checksum or an unambiguous format; lower: a heuristic). Never the matched text itself, so a
/// finding can be logged and counted without leaking what it found.
/// </summary>
public readonly record struct Finding(string Detector, string Type, int Start, int End, double Score)
{
    public int Length => End - Start;
}
