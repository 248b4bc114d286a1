using System.Globalization;

namespace Cria.Soak;

/// <summary>
/// The soak's settings, from "--name value" arguments. Every name must be known and every value valid;
/// a misspelled option is an error, not a silently ignored default.
/// </summary>
internal sealed record SoakOptions
{
    public string Cria { get; init; } = "src/Cria.Cli/bin/Release/net10.0/cria";

    public string Model { get; init; } = "models/stories260K.gguf";

    public int Seconds { get; init; } = 600;

    public int Clients { get; init; } = 8;

    public int Parallel { get; init; } = 2;

    /// <summary>Seconds between two samples of the server's resources.</summary>
    public int Interval { get; init; } = 5;

    /// <summary>The first part of the run that the verdict ignores (JIT tiering, first allocations, pools filling).</summary>
    public double Warmup { get; init; } = 0.2;

    public string Csv { get; init; } = "docs/soak.csv";

    public string Png { get; init; } = "docs/soak.png";

    public int Seed { get; init; } = 1;

    public const string Usage =
        "usage: Cria.Soak [--seconds 600] [--clients 8] [--parallel 2] [--interval 5] [--warmup 0.2] [--seed 1]\n"
        + "                 [--cria src/Cria.Cli/bin/Release/net10.0/cria] [--model models/stories260K.gguf] [--csv docs/soak.csv] [--png docs/soak.png]";

    public static SoakOptions Parse(IReadOnlyList<string> args)
    {
        var o = new SoakOptions();
        for (int i = 0; i < args.Count; i += 2)
        {
            string name = args[i];
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name} needs a value");
            }
            string v = args[i + 1];
            o = name switch
            {
                "--cria" => o with { Cria = v },
                "--model" => o with { Model = v },
                "--seconds" => o with { Seconds = Int(name, v, 10, 7 * 24 * 3600) },
                "--clients" => o with { Clients = Int(name, v, 1, 256) },
                "--parallel" => o with { Parallel = Int(name, v, 1, 64) },
                "--interval" => o with { Interval = Int(name, v, 1, 600) },
                "--warmup" => o with { Warmup = Fraction(name, v) },
                "--csv" => o with { Csv = v },
                "--png" => o with { Png = v },
                "--seed" => o with { Seed = Int(name, v, 0, int.MaxValue) },
                _ => throw new ArgumentException($"unknown option \"{name}\""),
            };
        }
        if (o.Seconds * (1 - o.Warmup) < 3 * o.Interval)
        {
            throw new ArgumentException($"--seconds {o.Seconds} leaves fewer than three samples after a warm-up of {o.Warmup:P0}");
        }
        return o;
    }

    private static int Int(string name, string v, int min, int max) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"{name} must be an integer in [{min}, {max}], not \"{v}\"");

    private static double Fraction(string name, string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f >= 0 && f < 0.9
            ? f
            : throw new ArgumentException($"{name} must be a fraction of the run in [0, 0.9), not \"{v}\"");
}
