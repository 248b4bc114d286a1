using System.CommandLine;
using System.Text;
using System.Text.Json;

using Cria.Guard;
using Cria.Guard.Policy;
using Cria.Guard.Rails;

namespace Cria.Cli;

/// <summary>
/// <c>cria guard check --guard FILE [TEXT|-]</c>: runs one stage of a policy over a text and prints one JSON object,
/// <c>{"action", "text", "findings": [{"detector", "type", "start", "end", "score"}]}</c> — the redacted text and what
/// was found (offsets in UTF-16 code units of the input), never the matched text. For writing and testing policies.
/// </summary>
internal static class GuardCommand
{
    public const int MaxInputBytes = 64 * 1024 * 1024;

    public static Command Create()
    {
        var file = new Option<string>("--guard") { Description = "guard policy file (JSON)", Required = true };
        var stage = new Option<string>("--stage") { Description = "the rail to run: input, output or tool_calls", DefaultValueFactory = _ => "input" };
        var model = new Option<string?>("--model") { Description = "check with the policy of this model (the policy file's \"models\")" };
        var key = new Option<string?>("--key") { Description = "check with the policy of this API key name (the policy file's \"keys\")" };
        var text = new Argument<string?>("text") { Description = "the text to check; - or nothing reads standard input", Arity = ArgumentArity.ZeroOrOne };
        var check = new Command("check", "Run a guard policy over a text and print the action, the redacted text and the findings as JSON.") { file, stage, model, key, text };
        check.SetAction(p => CliErrors.Run(() =>
        {
            GuardConfig config = GuardConfig.Load(p.GetValue(file)!);
            GuardStage which = p.GetValue(stage) switch
            {
                "input" => GuardStage.Input,
                "output" => GuardStage.Output,
                "tool_calls" => GuardStage.ToolCalls,
                string other => throw new UserException($"--stage must be input, output or tool_calls, got \"{other}\""),
                null => GuardStage.Input,
            };
            string input = p.GetValue(text) is { } t && t != "-" ? t : ReadStdin();
            Rail rail = config.Resolve(p.GetValue(model), p.GetValue(key)).ForStage(which);
            if (!rail.IsSynchronous)
            {
                throw new UserException("this policy has a llama_guard check, which needs its guard model: `cria guard check` runs only the model-free detectors; use `cria serve --guard`");
            }
            RailResult result = rail.Evaluate(input, new Redactor());
            Console.Out.Write(Json(result));
            Console.Out.Write('\n');
            return 0;
        }));
        return new Command("guard", "Guard rails: check a text against a policy file.") { check };
    }

    private static string ReadStdin()
    {
        using Stream stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int n;
        while ((n = stdin.Read(chunk)) > 0)
        {
            if (buffer.Length + n > MaxInputBytes)
            {
                throw new UserException($"the text on standard input is over {MaxInputBytes} bytes");
            }
            buffer.Write(chunk, 0, n);
        }
        return new UTF8Encoding(false, false).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Json(RailResult result)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("action", GuardActions.Name(result.Action));
            json.WriteString("text", result.Text);
            json.WriteStartArray("findings");
            foreach (RailFinding f in result.Findings)
            {
                json.WriteStartObject();
                json.WriteString("detector", f.Finding.Detector);
                json.WriteString("type", f.Finding.Type);
                json.WriteNumber("start", f.Finding.Start);
                json.WriteNumber("end", f.Finding.End);
                json.WriteNumber("score", Math.Round(f.Finding.Score, 3));
                json.WriteString("action", GuardActions.Name(f.Action));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
