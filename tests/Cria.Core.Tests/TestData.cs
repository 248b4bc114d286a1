namespace Cria.Core.Tests;

/// <summary>
/// Locates the repository's golden test data (tests/data, listed in tests/data/README.md) from the
/// test binary, by walking up from its folder.
/// </summary>
internal static class TestData
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "tests", "data");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"no tests/data folder above {AppContext.BaseDirectory}");
    });

    /// <summary>The full path of <paramref name="relative"/> (forward slashes) under tests/data.</summary>
    public static string Path(string relative) =>
        System.IO.Path.Combine(s_root.Value, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));
}
