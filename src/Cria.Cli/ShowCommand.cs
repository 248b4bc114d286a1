using System.CommandLine;
using System.Globalization;

using Cria.Hub.Cards;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

namespace Cria.Cli;

/// <summary><c>cria show NAME</c>: what a stored model is made of, or one part of it.</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "model name (see cria list)" };
        var modelfile = new Option<bool>("--modelfile") { Description = "print a Modelfile that recreates the model" };
        var license = new Option<bool>("--license") { Description = "print the licence texts" };
        var template = new Option<bool>("--template") { Description = "print the prompt template" };
        var system = new Option<bool>("--system") { Description = "print the system prompt" };
        var parameters = new Option<bool>("--parameters") { Description = "print the default parameters" };
        var lineage = new Option<bool>("--lineage") { Description = "print where the model came from, step by step" };
        var card = new Option<bool>("--card") { Description = "print the model card (README.md with YAML front matter)" };
        var cmd = new Command("show", "Show a stored model: details, parameters, system prompt, licences and lineage.")
        {
            name, modelfile, license, template, system, parameters, lineage, card,
        };
        cmd.SetAction(p => CliErrors.Run(() =>
        {
            var chosen = new[] { modelfile, license, template, system, parameters, lineage, card }.Where(o => p.GetValue(o)).ToList();
            if (chosen.Count > 1)
            {
                throw new UserException($"choose one of {string.Join(", ", chosen.Select(o => o.Name))}");
            }
            ModelDetails d = ModelStore.OpenDefault().Show(p.GetValue(name)!);
            string? part = chosen.Count == 0 ? null : chosen[0].Name;
            switch (part)
            {
                case null: Summary(d); break;
                case "--modelfile": Console.Write(d.ToModelfile()); break;
                case "--license": WriteLicenses(d); break;
                case "--template": Print(d.Template, "prompt template"); break;
                case "--system": Print(d.System, "system prompt"); break;
                case "--parameters": WriteParameters(d.Parameters, ""); break;
                case "--lineage": WriteLineage(d.Lineage, ""); break;
                default: Print(d.ModelCard, "model card"); break;
            }
            return 0;
        }));
        return cmd;
    }

    private static void Print(string? text, string what)
    {
        if (text is null)
        {
            Console.Error.WriteLine($"cria: the model has no {what}");
            return;
        }
        Console.Write(text);
        if (!text.EndsWith('\n'))
        {
            Console.WriteLine();
        }
    }

    private static void Summary(ModelDetails d)
    {
        TextWriter o = Console.Out;
        o.WriteLine("  Model");
        Row("name", d.Name.DisplayShortest());
        Row("id", d.Stored.Digest.ShortId);
        Row("architecture", d.Config.ModelFamily);
        Row("parameters", d.Config.ModelType);
        Row("quantization", d.Config.FileType);
        Row("size", CliFormat.Size(d.Stored.Manifest.TotalSize));
        if (d.AdapterPaths.Count > 0)
        {
            Row("adapters", d.AdapterPaths.Count.ToString(CultureInfo.InvariantCulture));
        }
        if (d.Parameters.Count > 0)
        {
            o.WriteLine("\n  Parameters");
            WriteParameters(d.Parameters, "    ");
        }
        if (d.System is not null)
        {
            o.WriteLine("\n  System");
            foreach (string line in d.System.Trim('\n').Split('\n').Take(10))
            {
                o.WriteLine($"    {line}");
            }
        }
        if (d.Licenses.Count > 0)
        {
            o.WriteLine("\n  License");
            foreach (string l in d.Licenses)
            {
                string first = l.Trim().Split('\n')[0].Trim();
                o.WriteLine($"    {LicenseNames.ShortName(l),-12} {(first.Length > 60 ? first[..60] + "…" : first)}");
            }
        }
        if (d.Lineage.Count > 0)
        {
            o.WriteLine("\n  Lineage");
            WriteLineage(d.Lineage, "    ");
        }

        void Row(string key, string value) => o.WriteLine($"    {key,-14} {value}");
    }

    private static void WriteParameters(ModelParameters parameters, string indent)
    {
        foreach ((string key, string value) in parameters.ToModelfileArguments())
        {
            Console.WriteLine($"{indent}{key,-14} {Hub.Modelfiles.Modelfile.Quote(value)}");
        }
    }

    private static void WriteLineage(IReadOnlyList<LineageStep> lineage, string indent)
    {
        for (int i = 0; i < lineage.Count; i++)
        {
            LineageStep s = lineage[i];
            string digest = s.Digest is null ? "" : $"  {s.Digest}";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{indent}{i + 1}. {s.Relation,-9} {s.Source}{digest}  {s.Created.UtcDateTime:yyyy-MM-dd HH:mm}"));
        }
    }

    /// <summary>The licence texts, then what they ask of anyone who redistributes the model (or a derivative).</summary>
    private static void WriteLicenses(ModelDetails d)
    {
        Console.Write(string.Join("\n\n", d.Licenses.Select(l => l.TrimEnd('\n'))) + (d.Licenses.Count > 0 ? "\n" : ""));
        IReadOnlyList<LicenseObligations> obligations = d.Obligations;
        if (obligations.Count == 0)
        {
            return;
        }
        TextWriter o = Console.Out;
        o.WriteLine();
        o.WriteLine("Obligations when you redistribute this model or a derivative of it:");
        foreach (LicenseObligations ob in obligations)
        {
            o.WriteLine($"  {ob.Title} ({ob.Id})");
            if (ob.Notice is not null)
            {
                o.WriteLine($"    - ship a \"Notice\" file containing: {ob.Notice}{(d.Notice?.Contains(ob.Notice, StringComparison.Ordinal) == true ? "  [present]" : "  [missing]")}");
            }
            if (ob.Attribution is not null)
            {
                o.WriteLine($"    - display \"{ob.Attribution}\" prominently (website, user interface, blog post, about page or product documentation)");
            }
            if (ob.NamePrefix is not null)
            {
                o.WriteLine($"    - a distributed fine-tune, adapter or merge must have a name beginning with \"{ob.NamePrefix}\"");
            }
            if (ob.UsePolicy is not null)
            {
                o.WriteLine($"    - follow the acceptable use policy: {ob.UsePolicy}");
            }
            foreach (string note in ob.Notes)
            {
                o.WriteLine($"    - {note}");
            }
        }
    }
}
