namespace Cria.Templates;

/// <summary>
/// A parsed Jinja template, for model chat templates. Supported: <c>{{ }}</c>, <c>{% %}</c>,
/// <c>{# #}</c> with whitespace control; if/elif/else; for (with <c>loop.*</c>, unpacking, an
/// <c>if</c> filter, else, break/continue); set (also block set and <c>ns.attr</c>); macro, call,
/// filter, with, do, raw, generation; Python-like expressions, subscripts and slices; Jinja2's
/// tests and common filters; Python str/dict methods; <c>range</c>, <c>namespace</c>, <c>dict</c>,
/// <c>raise_exception</c>, <c>strftime_now</c>. Not supported: include/import/extends/block,
/// recursive loops, <c>*args</c> calls. Undefined values follow Jinja2's default Undefined, except
/// that reading an attribute of undefined gives undefined instead of an error.
/// Parse once, render many times: a render keeps all its state to itself, so it is thread-safe.
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
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A parser bug must still surface as a template error, not as an arbitrary exception.
            throw new TemplateException(TemplateErrorKind.Syntax, "cannot parse template: " + ex.Message, ex);
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
