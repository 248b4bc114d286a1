namespace Cria.Templates.Tests;

/// <summary>Renders a template string with variables, for the language tests.</summary>
internal static class Jinja
{
    public static string Render(string source, params (string Name, object? Value)[] variables) =>
        Render(source, TemplateOptions.Default, variables);

    public static string Render(string source, TemplateOptions options, params (string Name, object? Value)[] variables) =>
        Template.Parse(source, options).Render(variables.ToDictionary(v => v.Name, v => v.Value));
}
