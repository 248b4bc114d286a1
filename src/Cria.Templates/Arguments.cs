namespace Cria.Templates;

/// <summary>Evaluated call arguments: positional, then keyword, as Python passes them.</summary>
internal sealed class Arguments(List<Value> positional, List<KeyValuePair<string, Value>> named)
{
    public static Arguments Empty { get; } = new([], []);

    public List<Value> Positional { get; } = positional;

    public List<KeyValuePair<string, Value>> Named { get; } = named;

    public static Arguments Of(params Value[] positional) => new([.. positional], []);

    /// <summary>Binds to the parameter <paramref name="names"/> in order; an entry is null when not given.</summary>
    public Value?[] Bind(string function, params ReadOnlySpan<string> names)
    {
        if (Positional.Count > names.Length)
        {
            throw Errors.Runtime($"{function}() takes at most {names.Length} argument(s) ({Positional.Count} given)");
        }
        var bound = new Value?[names.Length];
        for (int i = 0; i < Positional.Count; i++)
        {
            bound[i] = Positional[i];
        }
        foreach ((string name, Value value) in Named)
        {
            int index = names.IndexOf(name);
            if (index < 0)
            {
                throw Errors.Runtime($"{function}() got an unexpected keyword argument '{name}'");
            }
            if (bound[index] is not null)
            {
                throw Errors.Runtime($"{function}() got multiple values for argument '{name}'");
            }
            bound[index] = value;
        }
        return bound;
    }
}
