using System.Diagnostics.CodeAnalysis;

namespace Cria.Templates;

/// <summary>
/// One level of variables. Lookups walk up to the globals; <c>set</c> writes to the innermost level.
/// A for-loop iteration, a macro call, a <c>with</c> block and a captured block each get a fresh
/// level, so (as in Jinja2) what they set does not leak out; <c>if</c> does not create one.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, Value> _vars = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public bool TryGet(string name, [MaybeNullWhen(false)] out Value value)
    {
        for (Scope? s = this; s is not null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value))
            {
                return true;
            }
        }
        value = null;
        return false;
    }

    public void Set(string name, Value value) => _vars[name] = value;
}
