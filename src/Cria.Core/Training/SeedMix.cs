namespace Cria.Core.Training;

/// <summary>
/// Derives independent 64-bit seeds from a run's seed and a position (step, layer, target, row…) with
/// SplitMix64's finalizer. Every random stream of training (initialization, epoch shuffles, dropout
/// masks) is a pure function of the seed and such a position, so a resumed run draws exactly what an
/// uninterrupted one would, with no generator state to save.
/// </summary>
internal static class SeedMix
{
    public static ulong Of(ulong seed, ulong a, ulong b = 0, ulong c = 0, ulong d = 0)
    {
        ulong h = Mix(seed ^ 0x9E3779B97F4A7C15UL);
        h = Mix(h ^ a);
        h = Mix(h ^ b);
        h = Mix(h ^ c);
        return Mix(h ^ d);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
