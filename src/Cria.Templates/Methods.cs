namespace Cria.Templates;

/// <summary>
/// Python methods templates call on values: <c>content.strip()</c>, <c>role.title()</c>,
/// <c>text.split('&lt;/think&gt;')</c>, <c>d.items()</c>, <c>d.get(k, default)</c>. Attribute access
/// finds these before dict keys, as in Jinja2 (so <c>d.items</c> is the method, never the key "items").
/// <c>list.append</c> is allowed (llama.cpp's engines allow it; Hugging Face's sandbox does not).
/// </summary>
internal static class Methods
{
    public static FunctionValue? TryBind(Value target, string name)
    {
        switch (target)
        {
            case StringValue s when StringMethods.Names.Contains(name):
                return new FunctionValue("str." + name, (_, args) => StringMethods.Call(s.Value, name, args));
            case NamespaceValue:
                return null;
            case DictValue d when name is "items" or "keys" or "values" or "get" or "copy":
                return new FunctionValue("dict." + name, (_, args) => CallDict(d, name, args));
            case ListValue l when (name == "append" && !l.IsTuple) || name is "index" or "count":
                return new FunctionValue("list." + name, (interpreter, args) => CallList(interpreter, l, name, args));
            default:
                return null;
        }
    }

    private static Value CallDict(DictValue d, string name, Arguments args)
    {
        switch (name)
        {
            case "items":
                args.Bind("dict.items");
                return new ListValue([.. d.Items.Select(kv => ListValue.Tuple(kv.Key, kv.Value))]);
            case "keys":
                args.Bind("dict.keys");
                return new ListValue([.. d.Items.Keys]);
            case "values":
                args.Bind("dict.values");
                return new ListValue([.. d.Items.Values]);
            case "copy":
                args.Bind("dict.copy");
                return new DictValue(new OrderedDictionary<Value, Value>(d.Items));
            default:
                Value?[] a = args.Bind("dict.get", "key", "default");
                return d.Items.TryGetValue(a[0] ?? NoneValue.Instance, out Value? v) ? v : a[1] ?? NoneValue.Instance;
        }
    }

    private static Value CallList(Interpreter interpreter, ListValue list, string name, Arguments args)
    {
        Value?[] a = args.Bind("list." + name, "value");
        Value item = a[0] ?? throw Errors.Runtime($"list.{name}() takes exactly one argument");
        switch (name)
        {
            case "append":
                if (list.Items.Count >= interpreter.Options.MaxIterations)
                {
                    throw Errors.Limit($"list grows past the limit of {interpreter.Options.MaxIterations} items");
                }
                list.Items.Add(item);
                return NoneValue.Instance;
            case "count":
                return IntValue.Of(list.Items.Count(x => ValueOps.AreEqual(x, item)));
            default:
                int index = list.Items.FindIndex(x => ValueOps.AreEqual(x, item));
                return index >= 0 ? IntValue.Of(index) : throw Errors.Runtime($"{item.Repr()} is not in list");
        }
    }
}
