using System.Runtime.CompilerServices;

namespace Cria.Templates;

/// <summary>A Python dict: keys keep insertion order (as JSON objects and <c>tojson</c> need).</summary>
internal class DictValue : Value
{
    public DictValue()
    {
    }

    public DictValue(OrderedDictionary<Value, Value> items)
    {
        Items = items;
    }

    public OrderedDictionary<Value, Value> Items { get; } = [];

    public override string TypeName => "dict";

    public override bool IsTrue => Items.Count > 0;

    public bool TryGet(string key, out Value value) => Items.TryGetValue(StringValue.Of(key), out value!);

    public void Set(string key, Value value) => Items[StringValue.Of(key)] = value;

    public override string ToString()
    {
        // A namespace can hold itself; the stack check turns that into a clean error.
        RuntimeHelpers.EnsureSufficientExecutionStack();
        return "{" + string.Join(", ", Items.Select(kv => $"{kv.Key.Repr()}: {kv.Value.Repr()}")) + "}";
    }
}

/// <summary>
/// Jinja's <c>namespace()</c>: the one object a template may assign attributes on
/// (<c>{% set ns.found = true %}</c>), which is how state escapes a loop body's scope.
/// </summary>
internal sealed class NamespaceValue : DictValue
{
    public override string TypeName => "Namespace";

    public override bool IsTrue => true;

    public override string ToString() => $"<Namespace {base.ToString()}>";
}
