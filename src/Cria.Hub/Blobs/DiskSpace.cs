namespace Cria.Hub.Blobs;

/// <summary>Free space on the file system that holds a directory, checked before a blob of known size is written.</summary>
public static class DiskSpace
{
    /// <summary>Bytes available to this user on the file system of <paramref name="directory"/>; null when the OS cannot say.</summary>
    public static long? Available(string directory)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Throws when fewer than <paramref name="bytes"/> are free where <paramref name="directory"/> lives.</summary>
    /// <exception cref="IOException">Not enough free space; the message gives both numbers.</exception>
    public static void Ensure(string directory, long bytes)
    {
        long? free = Available(directory);
        if (free is long f && f < bytes)
        {
            throw new IOException($"not enough free disk space in {directory}: {bytes:N0} bytes needed, {f:N0} available");
        }
    }
}
