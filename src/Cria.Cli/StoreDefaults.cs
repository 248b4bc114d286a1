using System.CommandLine;

using Cria.Hub.Manifests;

namespace Cria.Cli;

/// <summary>
/// An option's value for <c>cria run</c>: what the command line says when the option was given, else the
/// stored model's parameter of that name (Ollama's option names), else the option's own default.
/// </summary>
internal sealed class StoreDefaults(ParseResult parse, ModelParameters parameters)
{
    public float Float(Option<float> option, string key) =>
        Given(option) ? parse.GetValue(option) : parameters.GetFloat(key) ?? parse.GetValue(option);

    public int Int(Option<int> option, string key)
    {
        if (Given(option) || parameters.GetInteger(key) is not long v)
        {
            return parse.GetValue(option);
        }
        return (int)Math.Clamp(v, int.MinValue, int.MaxValue);
    }

    /// <summary>Ollama's seed -1 (or any negative) means "random": no seed.</summary>
    public ulong? Seed(Option<ulong?> option) =>
        Given(option) ? parse.GetValue(option) : parameters.GetInteger("seed") is long s && s >= 0 ? (ulong)s : parse.GetValue(option);

    public string[] Strings(Option<string[]> option, string key) =>
        Given(option) ? parse.GetValue(option) ?? [] : [.. parameters.GetStrings(key)];

    private bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
}
