using System.Text.RegularExpressions;

namespace Cria.Hub.Remote;

/// <summary>A file of a Hugging Face repository: its path, size and (for LFS files) SHA-256, as the Hub's API lists it.</summary>
public sealed record RepoFile(string Path, long? Size, string? Sha256);

/// <summary>
/// Which GGUF file of a repository a pull means. With a quant: the GGUF whose name contains it as a
/// word (<c>Q4_K</c> matches <c>model.Q4_K.gguf</c> but not <c>model.Q4_K_M.gguf</c>), else as a
/// substring, case-insensitively; exactly one must match. Without: Q4_K_M when there is one, else the
/// smallest GGUF. Projector files (<c>mmproj</c>) are never picked by a quant or by default, and split
/// GGUF files (<c>-00001-of-00003.gguf</c>) are refused: Cria stores one file per model.
/// </summary>
public static partial class HuggingFaceFiles
{
    public const string DefaultQuant = "Q4_K_M";

    /// <exception cref="HubException">No GGUF matches, several do, or the match is a split file; the message lists the candidates.</exception>
    public static RepoFile Choose(IReadOnlyList<RepoFile> files, string? quant, string repository)
    {
        ArgumentNullException.ThrowIfNull(files);
        List<RepoFile> ggufs = [.. files.Where(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))];
        if (ggufs.Count == 0)
        {
            throw new HubException($"{repository} has no GGUF files; Cria pulls GGUF weights (convert safetensors with llama.cpp's convert_hf_to_gguf.py)");
        }
        List<RepoFile> models = [.. ggufs.Where(f => !FileName(f.Path).Contains("mmproj", StringComparison.OrdinalIgnoreCase))];
        RepoFile chosen;
        if (quant is not null)
        {
            List<RepoFile> matches = [.. models.Where(f => ContainsWord(FileName(f.Path), quant))];
            if (matches.Count == 0)
            {
                matches = [.. models.Where(f => FileName(f.Path).Contains(quant, StringComparison.OrdinalIgnoreCase))];
            }
            chosen = matches.Count switch
            {
                0 => throw new HubException($"{repository} has no GGUF file for quant \"{Digest.Printable(quant)}\"; its GGUF files: {List(ggufs)}"),
                1 => matches[0],
                _ => throw new HubException($"quant \"{Digest.Printable(quant)}\" matches {matches.Count} files in {repository}: {List(matches)}; pull one by its path, hf.co/{repository}/FILE.gguf"),
            };
        }
        else
        {
            List<RepoFile> preferred = [.. models.Where(f => ContainsWord(FileName(f.Path), DefaultQuant) && !IsSplit(f.Path))];
            if (preferred.Count == 1)
            {
                chosen = preferred[0];
            }
            else
            {
                List<RepoFile> candidates = [.. models.Where(f => !IsSplit(f.Path))];
                if (candidates.Count == 0)
                {
                    throw new HubException($"{repository} has only split or projector GGUF files ({List(ggufs)}); Cria needs a single-file model");
                }
                if (candidates.Any(f => f.Size is null))
                {
                    throw new HubException($"{repository} does not list file sizes, so the smallest GGUF cannot be chosen; name a quant: {List(candidates)}");
                }
                long smallest = candidates.Min(f => f.Size!.Value);
                List<RepoFile> least = [.. candidates.Where(f => f.Size == smallest)];
                chosen = least.Count == 1
                    ? least[0]
                    : throw new HubException($"{repository} has {least.Count} smallest GGUF files of the same size: {List(least)}; name a quant or a file");
            }
        }
        if (IsSplit(chosen.Path))
        {
            throw new HubException($"{chosen.Path} in {repository} is one part of a split GGUF; Cria cannot pull split models yet — choose a single-file quant");
        }
        return chosen;
    }

    /// <summary>Whether <paramref name="word"/> occurs in <paramref name="name"/> with no letter or digit just before it and no letter, digit or '_' just after.</summary>
    internal static bool ContainsWord(string name, string word)
    {
        for (int i = name.IndexOf(word, StringComparison.OrdinalIgnoreCase); i >= 0; i = name.IndexOf(word, i + 1, StringComparison.OrdinalIgnoreCase))
        {
            int after = i + word.Length;
            bool startOk = i == 0 || !char.IsAsciiLetterOrDigit(name[i - 1]);
            bool endOk = after == name.Length || !(char.IsAsciiLetterOrDigit(name[after]) || name[after] == '_');
            if (startOk && endOk)
            {
                return true;
            }
        }
        return false;
    }

    internal static bool IsSplit(string path) => SplitPattern().IsMatch(path);

    private static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static string List(IEnumerable<RepoFile> files)
    {
        List<string> names = [.. files.Select(f => f.Path).Order(StringComparer.Ordinal)];
        return names.Count <= 20 ? string.Join(", ", names) : string.Join(", ", names.Take(20)) + $" and {names.Count - 20} more";
    }

    [GeneratedRegex(@"-\d{5}-of-\d{5}\.gguf$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SplitPattern();
}
