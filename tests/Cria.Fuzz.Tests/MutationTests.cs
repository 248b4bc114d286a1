using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace Cria.Fuzz.Tests;

/// <summary>
/// A short random pass per target without afl++: the seeds mutated as AFL's havoc stage would (bit flips,
/// interesting values, truncations, insertions, deletions, repeats, splices), from a fixed seed so a failure
/// repeats, at most <see cref="MaxMutants"/> inputs or <see cref="Budget"/> per target.
/// </summary>
public sealed class MutationTests
{
    private const int MaxMutants = 400;
    private static readonly TimeSpan s_budget = TimeSpan.FromSeconds(1.5);

    private static readonly ulong[] s_interesting =
        [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1UL << 32, 1UL << 62, 1UL << 63, ulong.MaxValue];

    private static readonly string[] s_tokens =
        ["{{", "}}", "{%", "%}", "(", ")", "[", "]", "{", "}", "\"", "'", "\\", "::=", "|", "*", "+", "?", ",", ":", "null",
         "-1", "1e308", "9223372036854775807", "\"\"\"", "\n", "\u0000", "\uFFFF", "\ud83d\ude00", "endfor", "$ref", "#/"];

    public static TimeSpan Budget => s_budget;

    public static TheoryData<string> Targets()
    {
        var data = new TheoryData<string>();
        foreach (FuzzTarget t in FuzzTargets.All)
        {
            data.Add(t.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Mutated_seeds_are_refused_or_accepted_cleanly(string name)
    {
        FuzzTarget target = FuzzTargets.Find(name)!;
        byte[][] seeds = FuzzInputs.Seeds(name);
        var random = new Random(20_140_001 + name.Length);
        var clock = Stopwatch.StartNew();
        int runs = 0;
        while (runs < MaxMutants && clock.Elapsed < s_budget)
        {
            byte[] input = Mutate(seeds[random.Next(seeds.Length)], seeds, random);
            Bounded.Run(target, input, $"mutant {runs}");
            runs++;
        }
        Assert.True(runs > 0);
    }

    /// <summary>One to four havoc steps over a copy of <paramref name="seed"/>.</summary>
    internal static byte[] Mutate(byte[] seed, byte[][] seeds, Random random)
    {
        var bytes = new List<byte>(seed);
        int steps = 1 + random.Next(4);
        for (int s = 0; s < steps; s++)
        {
            int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(9))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = (byte)s_interesting[random.Next(5)];
                    break;
                case 2 when bytes.Count >= 8:
                    {
                        // a length, count or offset field claiming something else
                        var word = new byte[8];
                        BinaryPrimitives.WriteUInt64LittleEndian(word, s_interesting[random.Next(s_interesting.Length)]);
                        int w = random.Next(bytes.Count - 7);
                        for (int i = 0; i < 8; i++)
                        {
                            bytes[w + i] = word[i];
                        }
                        break;
                    }
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at); // truncation
                    break;
                case 4:
                    {
                        var noise = new byte[1 + random.Next(16)];
                        random.NextBytes(noise);
                        bytes.InsertRange(at, noise);
                        break;
                    }
                case 5 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(32)));
                    break;
                case 6 when bytes.Count > 0:
                    {
                        int length = Math.Min(bytes.Count - at, 1 + random.Next(64));
                        byte[] chunk = [.. bytes.GetRange(at, length)];
                        for (int r = random.Next(1, 8); r > 0; r--)
                        {
                            bytes.InsertRange(at, chunk);
                        }
                        break;
                    }
                case 7:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(s_tokens[random.Next(s_tokens.Length)]));
                    break;
                default:
                    {
                        // splice: this input's head, another seed's tail
                        byte[] other = seeds[random.Next(seeds.Length)];
                        int from = other.Length == 0 ? 0 : random.Next(other.Length);
                        bytes.RemoveRange(at, bytes.Count - at);
                        bytes.AddRange(other.AsSpan(from).ToArray());
                        break;
                    }
            }
        }
        return [.. bytes];
    }
}
