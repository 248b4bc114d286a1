namespace Cria.Core.Templates;

/// <summary>
/// A parsed Jinja template: the subset of Jinja2 that model chat templates use (see
/// docs in <see cref="TemplateOptions"/> for whitespace handling and limits). Parse once, render
/// many times; rendering is thread-safe because each render has its own interpreter state.
/// </summary>
public sealed class Template
{
    private readonly IReadOnlyList<Node> _body;

    private Template(string source, TemplateOptions options, IReadOnlyList<Node> body)
    {
        Source = source;
        Options = options;
        _body = body;
    }

    public string Source { get; }

    public TemplateOptions Options { get; }

    /// <summary>Parses <paramref name="source"/>; a syntax error is a <see cref="TemplateException"/> with its line and column.</summary>
    public static Template Parse(string source, TemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= TemplateOptions.Default;
        try
        {
            List<Token> tokens = Lexer.Tokenize(source, options);
            return new Template(source, options, Parser.Parse(tokens));
        }
        catch (TemplateException ex)
        {
            ex.AttachSource(source);
            throw;
        }
    }

    /// <summary>
    /// Renders with the given variables: strings, numbers, bools, null (None), lists, dictionaries
    /// and <see cref="System.Text.Json.JsonElement"/> values.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?>? variables = null) =>
        Render(variables?.Select(kv => KeyValuePair.Create(kv.Key, ValueConvert.FromObject(kv.Value))) ?? []);

    internal string Render(IEnumerable<KeyValuePair<string, Value>> variables)
    {
        // Globals (range, namespace, ...) < the caller's variables < what the template sets at top level.
        var context = new Scope(Globals.CreateScope(Options));
        foreach ((string name, Value value) in variables)
        {
            context.Set(name, value);
        }
        try
        {
            return new Interpreter(Options).Run(_body, new Scope(context));
        }
        catch (TemplateException ex)
        {
            ex.AttachSource(Source);
            throw;
        }
    }
}
