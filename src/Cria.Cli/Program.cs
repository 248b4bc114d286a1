using System.CommandLine;
using System.Text;

namespace Cria.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.OutputEncoding = new UTF8Encoding(false);
        var root = new RootCommand("Cria: run, serve and fine-tune open-weight LLMs (GGUF) in pure C#.")
        {
            RunCommand.Create(),
            InfoCommand.Create(),
            TokenizeCommand.Create(),
            PerplexityCommand.Create(),
            ImportCommand.Create(),
            BenchCommand.Create(),
            SynthCommand.Create(),
            QuantizeCommand.Create(),
            MergeCommand.Create(),
            FinetuneCommand.Create(),
            SelfTestCommand.Create(),
            ServeCommand.Create(),
            GuardCommand.Create(),
            KeysCommand.Create(),
            AuditCommand.Create(),
            ListCommand.Create(),
            ShowCommand.Create(),
            CreateCommand.Create(),
            CopyCommand.Create(),
            RemoveCommand.Create(),
            DoctorCommand.Create(),
            DoctorCommand.CreateStoreGroup(),
            PullCommand.Create(),
            PushCommand.Create(),
            HubCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
