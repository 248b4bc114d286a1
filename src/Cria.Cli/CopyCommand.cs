using System.CommandLine;

using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary><c>cria cp SRC DST</c>: a second name for a stored model (same manifest, no blobs copied).</summary>
internal static class CopyCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "model to copy" };
        var destination = new Argument<string>("destination") { Description = "new name" };
        var cmd = new Command("cp", "Copy a model to a new name (the same manifest; no weights are duplicated).") { source, destination };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            StoredManifest m = ModelStore.OpenDefault().Copy(p.GetValue(source)!, p.GetValue(destination)!);
            Console.WriteLine($"copied '{p.GetValue(source)}' to '{m.Name.DisplayShortest()}'");
            return 0;
        }));
        return cmd;
    }
}
