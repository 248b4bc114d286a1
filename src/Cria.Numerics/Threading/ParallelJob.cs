namespace Cria.Numerics.Threading;

/// <summary>
/// A unit of parallel work over an index range. Jobs are classes allocated once and reused (a kernel
/// keeps its job object), so dispatching work allocates nothing per call.
/// </summary>
public abstract class ParallelJob
{
    /// <summary>Process items [start, end) on the worker with index <paramref name="worker"/> (0 = calling thread).</summary>
    public abstract void Execute(int start, int end, int worker);
}
