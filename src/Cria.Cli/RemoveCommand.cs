using System.CommandLine;

using Cria.Hub;
using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary><c>cria rm NAME...</c>: remove models and the blobs nothing else uses.</summary>
internal static class RemoveCommand
{
    public static Command Create()
    {
        var names = new Argument<string[]>("names") { Description = "models to remove", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("rm", "Remove models from the store, and every blob no other model uses.") { names };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            ModelStore store = ModelStore.OpenDefault();
            string[] given = p.GetValue(names) ?? [];
            // Check every name first, so a typo in the last one removes nothing.
            List<ModelName> parsed = [.. given.Select(ModelName.Parse)];
            foreach (ModelName n in parsed)
            {
                _ = store.Get(n);
            }
            foreach (ModelName n in parsed)
            {
                RemoveResult r = store.Remove(n);
                Console.WriteLine($"deleted '{r.Name.DisplayShortest()}'");
                foreach (string w in r.Warnings)
                {
                    Console.Error.WriteLine($"cria: warning: {w}");
                }
            }
            return 0;
        }));
        return cmd;
    }
}
