namespace Cria.Fuzz;

/// <summary>
/// File-based parsers (GGUF and tokenizer.bin are memory-mapped, tokenizer.json and safetensors are opened
/// by path) get their input as a file: one folder per process and thread, so parallel tests never share one,
/// holding only the file the harness writes (no tokenizer_config.json beside a tokenizer.json).
/// </summary>
internal static class ScratchFile
{
    [ThreadStatic]
    private static string? s_folder;

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="fileName"/> in this thread's scratch folder and returns its path.</summary>
    public static string Write(string fileName, byte[] bytes)
    {
        s_folder ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"cria-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}")).FullName;
        string path = Path.Combine(s_folder, fileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
