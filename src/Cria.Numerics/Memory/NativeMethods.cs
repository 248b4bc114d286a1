using System.Runtime.InteropServices;

namespace Cria.Numerics.Memory;

/// <summary>The few libc calls the memory code uses (Linux only; callers check the OS).</summary>
internal static partial class NativeMethods
{
    public const int MadvDontNeed = 4;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static partial int Madvise(nint address, nuint length, int advice);
}
