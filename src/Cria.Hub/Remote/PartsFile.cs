using System.Globalization;
using System.Text;

namespace Cria.Hub.Remote;

/// <summary>One ranged part of a parallel download: bytes [<see cref="Start"/>, <see cref="Next"/>) are written, [Next, <see cref="End"/>) are to come.</summary>
internal sealed class DownloadPart(long start, long next, long end)
{
    private long _next = next;

    public long Start { get; } = start;

    public long End { get; } = end;

    public long Next
    {
        get => Volatile.Read(ref _next);
        set => Volatile.Write(ref _next, value);
    }
}

/// <summary>
/// The record of a parallel download beside its partial file: <c>sha256-&lt;hex&gt;-partial.parts</c>,
/// a header line <c>cria-parts 1 SIZE</c> and one <c>START NEXT END</c> line per part. It is written
/// before the first ranged byte and rewritten (temp file, flush, rename) as parts advance, each NEXT only after
/// its bytes were written, so it never claims bytes the partial file does not hold. Anything that does
/// not parse or does not add up is treated as absent-and-damaged: the partial file is emptied.
/// </summary>
internal static class PartsFile
{
    public const string Suffix = ".parts";
    private const string Header = "cria-parts 1";
    private const int MaxParts = 64;

    public enum State
    {
        Missing,
        Invalid,
        Valid,
    }

    public static (State State, List<DownloadPart>? Parts) Load(string path, long size, long fileLength)
    {
        if (!File.Exists(path))
        {
            return (State.Missing, null);
        }
        try
        {
            if (new FileInfo(path).Length > 16 << 10)
            {
                return (State.Invalid, null);
            }
            string[] lines = File.ReadAllText(path, Encoding.ASCII).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length is < 2 or > MaxParts + 1 || lines[0] != $"{Header} {size.ToString(CultureInfo.InvariantCulture)}")
            {
                return (State.Invalid, null);
            }
            var parts = new List<DownloadPart>();
            for (int i = 1; i < lines.Length; i++)
            {
                string[] f = lines[i].Split(' ');
                if (f.Length != 3 || !TryLong(f[0], out long start) || !TryLong(f[1], out long next) || !TryLong(f[2], out long end)
                    || start > next || next > end || next > fileLength
                    || (parts.Count > 0 && parts[^1].End != start))
                {
                    return (State.Invalid, null);
                }
                parts.Add(new DownloadPart(start, next, end));
            }
            return parts[^1].End == size && parts[0].Start <= fileLength ? (State.Valid, parts) : (State.Invalid, null);
        }
        catch (IOException)
        {
            return (State.Invalid, null);
        }
    }

    public static void Save(string path, long size, IReadOnlyList<DownloadPart> parts)
    {
        var b = new StringBuilder().Append(Header).Append(' ').Append(size.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (DownloadPart p in parts)
        {
            b.Append(CultureInfo.InvariantCulture, $"{p.Start} {p.Next} {p.End}\n");
        }
        Core.IO.AtomicFile.WriteAllText(path, b.ToString());
    }

    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a stale record is re-validated (and discarded) by the next download
        }
    }

    private static bool TryLong(string s, out long v) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
}
