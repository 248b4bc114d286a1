namespace Cria.Core.Tests;

/// <summary>Finds the repository root (the folder holding Cria.slnx) from the test binary.</summary>
internal static class RepoRoot
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Cria.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Cria.slnx above {AppContext.BaseDirectory}");
    });

    public static string Path(string relative) => System.IO.Path.Combine(s_root.Value, relative);
}
