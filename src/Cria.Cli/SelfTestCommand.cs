using System.CommandLine;
using System.Globalization;

using Cria.Numerics.Kernels;

namespace Cria.Cli;

/// <summary><c>cria selftest</c>: check this CPU's kernels against the scalar reference.</summary>
internal static class SelfTestCommand
{
    public static Command Create()
    {
        var cmd = new Command("selftest", "Check every matmul kernel this CPU uses against a float64 reference; exit code 1 if any is off.");
        cmd.SetAction(_ => CliErrors.Run(() =>
        {
            Console.Out.WriteLine(KernelSelfTest.InstructionSets);
            int failed = 0;
            foreach (KernelCheck c in KernelSelfTest.Run())
            {
                failed += c.Passed ? 0 : 1;
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(c.Passed ? "ok  " : "FAIL")} {c.Kernel,-5} {c.Path,-34} max rel. error {c.MaxRelativeError:E2}"));
            }
            Console.Out.WriteLine(failed == 0 ? "all kernels agree with the reference" : $"{failed} kernel checks failed");
            return failed == 0 ? 0 : 1;
        }));
        return cmd;
    }
}
