using System.CommandLine;

using Cria.Hub.Store;

using Spectre.Console;

namespace Cria.Cli;

/// <summary><c>cria list</c>: the models in the store, one row each.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var cmd = new Command("list", "List the models in the store ($CRIA_HOME/models, default ~/.cria/models).");
        cmd.Aliases.Add("ls");
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            ModelStore store = ModelStore.OpenDefault();
            IReadOnlyList<ModelSummary> models = store.List();
            if (models.Count == 0)
            {
                Console.Error.WriteLine($"cria: no models in {store.ModelsDirectory}; make one with `cria create NAME -f Modelfile`");
                return 0;
            }
            IAnsiConsole console = AnsiConsole.Console;
            if (Console.IsOutputRedirected)
            {
                console.Profile.Width = 240; // don't wrap rows for pipes and files
            }
            var table = new Table().Border(TableBorder.None)
                .AddColumn("NAME").AddColumn("ID").AddColumn(new TableColumn("SIZE").RightAligned())
                .AddColumn("QUANT").AddColumn("FAMILY").AddColumn("LICENCE").AddColumn("MODIFIED");
            DateTimeOffset now = DateTimeOffset.UtcNow;
            foreach (ModelSummary m in models)
            {
                if (m.Error is not null)
                {
                    table.AddRow(Markup.Escape(m.Name.DisplayShortest()), "[red]damaged[/]", "", "", "", "", Markup.Escape(CliFormat.Ago(m.Modified, now)));
                    continue;
                }
                table.AddRow(
                    Markup.Escape(m.Name.DisplayShortest()),
                    m.Digest?.ShortId ?? "",
                    CliFormat.Size(m.Size),
                    Markup.Escape(m.FileType),
                    Markup.Escape(m.Family),
                    Markup.Escape(string.Join(", ", m.Licenses)),
                    Markup.Escape(CliFormat.Ago(m.Modified, now)));
            }
            console.Write(table);
            foreach (ModelSummary m in models.Where(m => m.Error is not null))
            {
                Console.Error.WriteLine($"cria: warning: {m.Name.DisplayShortest()} is damaged ({m.Error}); `cria rm {m.Name.DisplayShortest()}` removes it");
            }
            return 0;
        }));
        return cmd;
    }
}
