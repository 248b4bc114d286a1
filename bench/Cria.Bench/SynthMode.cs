using System.Diagnostics;
using System.Globalization;

using Cria.Core.Synthetic;

namespace Cria.Bench;

/// <summary>Writes a random-weight model with <see cref="SyntheticModel"/> (until the CLI has `cria synth`).</summary>
internal static class SynthMode
{
    public static int Run(Options o)
    {
        string shape = o.Required("shape");
        string mix = o.String("type") ?? "q4_0";
        string output = o.Required("out");
        string vocab = o.Required("vocab");
        ulong seed = o.ULong("seed", 1);
        o.ThrowIfUnused();
        var clock = Stopwatch.StartNew();
        int lastPercent = -1;
        var progress = new SyncProgress(f =>
        {
            int percent = (int)(f * 100);
            if (percent / 10 != lastPercent / 10)
            {
                lastPercent = percent;
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"{percent}% "));
            }
        });
        SyntheticModel.Write(shape, mix, seed, output, vocab, progress);
        Console.Error.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{output}: {shape} {mix} seed {seed}, {new FileInfo(output).Length / (1024.0 * 1024.0):F1} MiB in {clock.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    /// <summary>Reports on the writing thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
