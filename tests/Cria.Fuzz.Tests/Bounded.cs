namespace Cria.Fuzz.Tests;

/// <summary>Runs a harness on one input with a time limit: a hang fails the test instead of stalling the suite.</summary>
internal static class Bounded
{
    public static readonly TimeSpan PerInput = TimeSpan.FromSeconds(10);

    /// <summary>Runs <paramref name="target"/> on <paramref name="input"/>; anything the harness lets escape, or a run past the limit, fails with the input named.</summary>
    public static void Run(FuzzTarget target, byte[] input, string what)
    {
        Task run = Task.Factory.StartNew(() => target.Run(input), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        bool finished;
        try
        {
            finished = run.Wait(PerInput);
        }
        catch (AggregateException e)
        {
            throw new Xunit.Sdk.XunitException(
                $"{target.Name}: {what} escaped the harness with {e.InnerException}\ninput (base64): {Convert.ToBase64String(input)}");
        }
        if (!finished)
        {
            throw new Xunit.Sdk.XunitException(
                $"{target.Name}: {what} ran longer than {PerInput.TotalSeconds}s\ninput (base64): {Convert.ToBase64String(input)}");
        }
    }
}
