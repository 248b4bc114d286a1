namespace Cria.Fuzz.Tests;

/// <summary>Every checked-in seed and every regression input, through the harness fuzzing uses.</summary>
public sealed class CorpusTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach ((string target, string relative) in FuzzInputs.All())
        {
            data.Add(target, relative);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_checked_in_input_is_refused_or_accepted_cleanly(string target, string relative)
    {
        FuzzTarget harness = FuzzTargets.Find(target) ?? throw new Xunit.Sdk.XunitException($"fuzz/{relative}: no target named '{target}'");
        Bounded.Run(harness, File.ReadAllBytes(Path.Combine(FuzzInputs.Root, relative)), relative);
    }

    [Fact]
    public void Every_target_has_seeds_and_every_folder_a_target()
    {
        foreach (FuzzTarget target in FuzzTargets.All)
        {
            Assert.True(FuzzInputs.Seeds(target.Name).Length > 0, $"fuzz/corpus/{target.Name}/ has no seeds");
        }
        foreach ((string target, string relative) in FuzzInputs.All())
        {
            Assert.True(FuzzTargets.Find(target) is not null, $"fuzz/{relative} is in a folder that names no target");
        }
    }
}
