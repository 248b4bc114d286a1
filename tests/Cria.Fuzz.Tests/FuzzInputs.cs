namespace Cria.Fuzz.Tests;

/// <summary>The checked-in inputs: fuzz/corpus/TARGET/ (seeds) and fuzz/regressions/TARGET/ (what fuzzing found), found by walking up from the test binary.</summary>
internal static class FuzzInputs
{
    private static readonly Lazy<string> s_fuzz = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "fuzz", "corpus");
            if (Directory.Exists(candidate))
            {
                return Path.Combine(dir.FullName, "fuzz");
            }
        }
        throw new DirectoryNotFoundException($"no fuzz/corpus folder above {AppContext.BaseDirectory}");
    });

    /// <summary>The fuzz/ folder.</summary>
    public static string Root => s_fuzz.Value;

    /// <summary>Every seed and regression input as (target, path relative to fuzz/), in a stable order.</summary>
    public static IEnumerable<(string Target, string Relative)> All()
    {
        foreach (string kind in new[] { "corpus", "regressions" })
        {
            string folder = Path.Combine(Root, kind);
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (string targetDir in Directory.GetDirectories(folder).Order(StringComparer.Ordinal))
            {
                foreach (string file in Directory.GetFiles(targetDir).Order(StringComparer.Ordinal))
                {
                    yield return (Path.GetFileName(targetDir), Path.GetRelativePath(Root, file));
                }
            }
        }
    }

    /// <summary>The seeds of one target.</summary>
    public static byte[][] Seeds(string target) =>
        [.. Directory.GetFiles(Path.Combine(Root, "corpus", target)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)];
}
