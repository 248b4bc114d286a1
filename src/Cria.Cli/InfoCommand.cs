using System.CommandLine;
using System.Globalization;

using Cria.Core.Gguf;
using Cria.Core.Models;
using Cria.Numerics;

using Spectre.Console;

namespace Cria.Cli;

/// <summary><c>cria info</c>: what is inside a GGUF file.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "GGUF file" };
        var tensors = new Option<bool>("--tensors") { Description = "list every tensor (default: the first 20)" };
        var cmd = new Command("info", "Show a GGUF file's architecture, hyperparameters, metadata, tensor table and size per type.") { path, tensors };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            string file = p.GetValue(path)!;
            if (!File.Exists(file))
            {
                throw new UserException($"file not found: {file}");
            }
            using GgufFile gguf = GgufFile.Open(file);
            Print(gguf, p.GetValue(tensors));
            return 0;
        }));
        return cmd;
    }

    private static void Print(GgufFile f, bool allTensors)
    {
        IAnsiConsole console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = 240; // don't wrap lines for pipes and files
        }
        var inv = CultureInfo.InvariantCulture;
        console.MarkupLine($"[bold]{Markup.Escape(Path.GetFileName(f.FilePath))}[/]: GGUF v{f.Version}, {Size(f.FileSize)}, {f.Metadata.Count} metadata keys, {f.Tensors.Count} tensors, alignment {f.Alignment}");
        string? arch = f.GetString("general.architecture");
        if (arch is not null)
        {
            try
            {
                ModelConfig c = ModelConfig.FromGguf(f);
                console.MarkupLine(string.Create(inv,
                    $"[bold]{arch}[/]: {c.BlockCount} layers, dim {c.EmbeddingLength}, ff {c.FeedForwardLength}, heads {c.HeadCount} (kv {c.HeadCountKv}), head dim {c.HeadDim}, context {c.ContextLength}, rope base {c.RopeFreqBase} ({c.RopeStyle}, scaling {c.RopeScaling}), rms eps {c.RmsEpsilon:G3}"));
            }
            catch (ModelException e)
            {
                console.MarkupLine($"[yellow]{Markup.Escape(e.Message)}[/]");
            }
            long parameters = f.Tensors.Sum(t => t.ElementCount);
            console.MarkupLine(string.Create(inv, $"parameters: {parameters:N0}"));
        }
        else
        {
            console.MarkupLine("no general.architecture: a vocab-only or non-model GGUF");
        }

        var meta = new Table().Border(TableBorder.Simple).AddColumn("key").AddColumn("type").AddColumn("value");
        foreach (GgufMetadataEntry e in f.Metadata)
        {
            string type = e.Value.Value is GgufArray a ? $"{a.ElementType}[{a.Count}]" : e.Value.Type.ToString();
            string value = e.Value.ToString();
            if (value.Length > 100)
            {
                value = value[..100] + "…";
            }
            meta.AddRow(Markup.Escape(e.Key), Markup.Escape(type), Markup.Escape(value.ReplaceLineEndings("\\n")));
        }
        console.Write(meta);

        var byType = new Table().Border(TableBorder.Simple).AddColumn("type").AddColumn(new TableColumn("tensors").RightAligned()).AddColumn(new TableColumn("size").RightAligned());
        foreach (var g in f.Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteSize)))
        {
            byType.AddRow(GgmlTypes.Name(g.Key), g.Count().ToString(inv), Size(g.Sum(t => t.ByteSize)));
        }
        if (f.Tensors.Count > 0)
        {
            console.Write(byType);
        }

        var table = new Table().Border(TableBorder.Simple).AddColumn("#").AddColumn("name").AddColumn("type").AddColumn("shape").AddColumn(new TableColumn("size").RightAligned()).AddColumn(new TableColumn("offset").RightAligned());
        int shown = allTensors ? f.Tensors.Count : Math.Min(20, f.Tensors.Count);
        for (int i = 0; i < shown; i++)
        {
            GgufTensorInfo t = f.Tensors[i];
            table.AddRow(i.ToString(inv), Markup.Escape(t.Name), GgmlTypes.Name(t.Type), Markup.Escape(t.ShapeText), Size(t.ByteSize), t.FileOffset.ToString(inv));
        }
        if (f.Tensors.Count > 0)
        {
            console.Write(table);
        }
        if (shown < f.Tensors.Count)
        {
            console.MarkupLine($"… {f.Tensors.Count - shown} more (--tensors lists all)");
        }
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F2} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
