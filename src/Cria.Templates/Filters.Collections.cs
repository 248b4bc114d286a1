namespace Cria.Templates;

internal static partial class Filters
{
    private static void AddCollectionFilters(Dictionary<string, Func<Interpreter, Value, Arguments, Value>> filters)
    {
        filters["batch"] = Batch;
        filters["count"] = (_, v, _) => IntValue.Of(ValueOps.Length(v));
        filters["length"] = (_, v, _) => IntValue.Of(ValueOps.Length(v));
        filters["dictsort"] = DictSort;
        filters["first"] = (_, v, _) => ValueOps.Iterate(v) is [Value first, ..] ? first : new UndefinedValue("No first item, sequence was empty.");
        filters["last"] = (_, v, _) => ValueOps.Iterate(v) is [.., Value last] ? last : new UndefinedValue("No last item, sequence was empty.");
        filters["items"] = Items;
        filters["join"] = Join;
        filters["list"] = (_, v, _) => new ListValue(ValueOps.Iterate(v));
        filters["map"] = Map;
        filters["max"] = (i, v, a) => MinOrMax(v, a, "max", +1);
        filters["min"] = (i, v, a) => MinOrMax(v, a, "min", -1);
        filters["reverse"] = Reverse;
        filters["select"] = (i, v, a) => Select(i, v, a, attribute: false, keep: true);
        filters["reject"] = (i, v, a) => Select(i, v, a, attribute: false, keep: false);
        filters["selectattr"] = (i, v, a) => Select(i, v, a, attribute: true, keep: true);
        filters["rejectattr"] = (i, v, a) => Select(i, v, a, attribute: true, keep: false);
        filters["sort"] = Sort;
        filters["sum"] = Sum;
        filters["unique"] = Unique;
    }

    /// <summary>Jinja's attribute paths ("a.b", "items.0"): item lookup first, then attribute, at each step.</summary>
    private static Value GetPath(Value item, string path)
    {
        foreach (string part in path.Split('.'))
        {
            Value key = long.TryParse(part, out long index) ? IntValue.Of(index) : StringValue.Of(part);
            item = Interpreter.GetItem(item, key);
        }
        return item;
    }

    /// <summary>The sort key: the attribute's value, lower-cased when comparing strings case-insensitively.</summary>
    private static Func<Value, Value> KeyFunction(Value? attribute, bool caseSensitive)
    {
        string? path = attribute is null or NoneValue ? null : attribute.ToString();
        return item =>
        {
            Value key = path is null ? item : GetPath(item, path);
            return !caseSensitive && key is StringValue s ? StringValue.Of(s.Value.ToLowerInvariant()) : key;
        };
    }

    private static readonly Comparer<Value> s_order = Comparer<Value>.Create((x, y) => ValueOps.Compare(x, y));

    private static Value Batch(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("batch", "linecount", "fill_with");
        int size = (int)Int(args[0], 1);
        if (size <= 0)
        {
            throw Errors.Runtime("batch size must be positive");
        }
        var batches = new List<Value>();
        List<Value> items = ValueOps.Iterate(v);
        for (int i = 0; i < items.Count; i += size)
        {
            var batch = items.GetRange(i, Math.Min(size, items.Count - i));
            while (args[1] is not null && batch.Count < size)
            {
                batch.Add(args[1]!);
            }
            batches.Add(new ListValue(batch));
        }
        return new ListValue(batches);
    }

    private static Value DictSort(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("dictsort", "case_sensitive", "by", "reverse");
        if (v is not DictValue dict)
        {
            throw Errors.Runtime($"dictsort expects a mapping, got {v.TypeName}");
        }
        bool caseSensitive = args[0]?.IsTrue ?? false;
        int position = args[1] is StringValue { Value: "value" } ? 1 : args[1] is null or StringValue { Value: "key" }
            ? 0
            : throw Errors.Runtime("You can only sort by either 'key' or 'value'");
        Func<Value, Value> key = KeyFunction(null, caseSensitive);
        IEnumerable<ListValue> pairs = dict.Items.Select(kv => ListValue.Tuple(kv.Key, kv.Value));
        pairs = args[2]?.IsTrue ?? false
            ? pairs.OrderByDescending(p => key(p.Items[position]), s_order)
            : pairs.OrderBy(p => key(p.Items[position]), s_order);
        return new ListValue([.. pairs]);
    }

    private static Value Items(Interpreter interpreter, Value v, Arguments a) => v switch
    {
        UndefinedValue => new ListValue([]),
        DictValue dict => new ListValue([.. dict.Items.Select(kv => ListValue.Tuple(kv.Key, kv.Value))]),
        _ => throw Errors.Runtime("Can only get item pairs from a mapping."),
    };

    private static Value Join(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("join", "d", "attribute");
        string separator = args[0] is null ? "" : Soft(args[0]!);
        IEnumerable<Value> items = ValueOps.Iterate(v);
        if (args[1] is not null and not NoneValue)
        {
            string path = args[1]!.ToString();
            items = items.Select(i => GetPath(i, path));
        }
        string joined = string.Join(separator, items.Select(Soft));
        interpreter.CheckSize(joined.Length);
        return Str(joined);
    }

    /// <summary><c>map(attribute='x', default=…)</c> or <c>map('filter', *args)</c>.</summary>
    private static Value Map(Interpreter interpreter, Value v, Arguments a)
    {
        List<Value> items = ValueOps.Iterate(v);
        Value? attribute = a.Named.FirstOrDefault(kv => kv.Key == "attribute").Value;
        if (attribute is not null)
        {
            Value? fallback = a.Named.FirstOrDefault(kv => kv.Key == "default").Value;
            string path = attribute.ToString();
            return new ListValue([.. items.Select(i => GetPath(i, path) is var v && v is UndefinedValue && fallback is not null ? fallback : v)]);
        }
        if (a.Positional.Count == 0 || a.Positional[0] is not StringValue name)
        {
            throw Errors.Runtime("map requires a filter name or attribute=");
        }
        var rest = new Arguments([.. a.Positional.Skip(1)], a.Named);
        return new ListValue([.. items.Select(i => interpreter.ApplyFilter(name.Value, i, rest))]);
    }

    private static Value MinOrMax(Value v, Arguments a, string name, int sign)
    {
        Value?[] args = a.Bind(name, "case_sensitive", "attribute");
        Func<Value, Value> key = KeyFunction(args[1], args[0]?.IsTrue ?? false);
        Value? best = null;
        Value? bestKey = null;
        foreach (Value item in ValueOps.Iterate(v))
        {
            Value k = key(item);
            if (best is null || ValueOps.Compare(k, bestKey!) * sign > 0)
            {
                (best, bestKey) = (item, k);
            }
        }
        return best ?? new UndefinedValue("No aggregated item, sequence was empty.");
    }

    private static Value Reverse(Interpreter interpreter, Value v, Arguments a)
    {
        if (v is StringValue s)
        {
            return Str(PyString.Reverse(s.Value));
        }
        List<Value> items = ValueOps.Iterate(v);
        items.Reverse();
        return new ListValue(items);
    }

    /// <summary>select/reject(test, *args) and selectattr/rejectattr(attribute, test, *args); without a test, truthiness.</summary>
    private static Value Select(Interpreter interpreter, Value v, Arguments a, bool attribute, bool keep)
    {
        int next = 0;
        string? path = null;
        if (attribute)
        {
            path = a.Positional.Count > 0 ? a.Positional[next++].ToString() : throw Errors.Runtime("selectattr/rejectattr need an attribute");
        }
        string? test = a.Positional.Count > next ? a.Positional[next++].ToString() : null;
        var testArgs = new Arguments([.. a.Positional.Skip(next)], a.Named);
        var kept = new List<Value>();
        foreach (Value item in ValueOps.Iterate(v))
        {
            Value subject = path is null ? item : GetPath(item, path);
            bool passes = test is null ? subject.IsTrue : interpreter.ApplyTest(test, subject, testArgs);
            if (passes == keep)
            {
                kept.Add(item);
            }
        }
        return new ListValue(kept);
    }

    private static Value Sort(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("sort", "reverse", "case_sensitive", "attribute");
        Func<Value, Value> key = KeyFunction(args[2], args[1]?.IsTrue ?? false);
        List<Value> items = ValueOps.Iterate(v);
        IEnumerable<Value> sorted = args[0]?.IsTrue ?? false ? items.OrderByDescending(key, s_order) : items.OrderBy(key, s_order);
        return new ListValue([.. sorted]);
    }

    private static Value Sum(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("sum", "attribute", "start");
        Value total = args[1] ?? IntValue.Of(0);
        foreach (Value item in ValueOps.Iterate(v))
        {
            Value x = args[0] is null or NoneValue ? item : GetPath(item, args[0]!.ToString());
            total = Arithmetic.Binary(interpreter, "+", total, x);
        }
        return total;
    }

    private static Value Unique(Interpreter interpreter, Value v, Arguments a)
    {
        Value?[] args = a.Bind("unique", "case_sensitive", "attribute");
        Func<Value, Value> key = KeyFunction(args[1], args[0]?.IsTrue ?? false);
        var seen = new HashSet<Value>();
        var result = new List<Value>();
        foreach (Value item in ValueOps.Iterate(v))
        {
            if (seen.Add(key(item)))
            {
                result.Add(item);
            }
        }
        return new ListValue(result);
    }
}
