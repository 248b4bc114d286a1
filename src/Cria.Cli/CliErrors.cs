using Cria.Core.Conversion;
using Cria.Core.Gguf;
using Cria.Core.Models;

namespace Cria.Cli;

/// <summary>
/// Turns the errors a user can cause (missing file, not GGUF, unsupported model, bad option) into one
/// line on stderr and exit code 1; anything else is a bug and keeps its stack trace.
/// </summary>
internal static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"cria: error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cria: cancelled");
            return 130;
        }
    }

    public static bool IsUserError(Exception e) => e is GgufFormatException or ModelException or ConversionException
        or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException
        or ArgumentException or NotSupportedException or InvalidDataException or UserException or Core.Tokenization.TokenizerException
        or Hub.HubException or Microsoft.Data.Sqlite.SqliteException or Guard.Policy.GuardPolicyException;
}

/// <summary>A problem with what the user asked for, reported as one line.</summary>
internal sealed class UserException : Exception
{
    public UserException()
    {
    }

    public UserException(string message)
        : base(message)
    {
    }

    public UserException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
