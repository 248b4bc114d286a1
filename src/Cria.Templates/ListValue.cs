using System.Runtime.CompilerServices;

namespace Cria.Templates;

/// <summary>A Python list, or a tuple when <see cref="IsTuple"/> (prints with parentheses, never equals a list).</summary>
internal sealed class ListValue(List<Value> items, bool isTuple = false) : Value
{
    public List<Value> Items { get; } = items;

    public bool IsTuple { get; } = isTuple;

    public override string TypeName => IsTuple ? "tuple" : "list";

    public override bool IsTrue => Items.Count > 0;

    public static ListValue Tuple(params Value[] items) => new([.. items], isTuple: true);

    public override string ToString()
    {
        // A list can contain itself (via append); the stack check turns that into a clean error.
        RuntimeHelpers.EnsureSufficientExecutionStack();
        string inner = string.Join(", ", Items.Select(i => i.Repr()));
        if (!IsTuple)
        {
            return $"[{inner}]";
        }
        return Items.Count == 1 ? $"({inner},)" : $"({inner})";
    }
}
