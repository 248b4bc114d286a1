using System.Runtime.CompilerServices;

namespace Cria.Templates;

/// <summary>Python's equality, hashing, ordering, length, iteration and membership over template values.</summary>
internal static class ValueOps
{
    /// <summary>int and bool (Python's bool is an int).</summary>
    public static bool IsInteger(Value v) => v is IntValue or BoolValue;

    public static bool IsNumber(Value v) => v is IntValue or BoolValue or FloatValue;

    public static long ToLong(Value v) => v switch
    {
        IntValue i => i.Value,
        BoolValue b => b.Value ? 1 : 0,
        _ => throw Errors.Runtime($"'{v.TypeName}' object cannot be interpreted as an integer"),
    };

    public static double ToDouble(Value v) => v switch
    {
        IntValue i => i.Value,
        BoolValue b => b.Value ? 1 : 0,
        FloatValue f => f.Value,
        _ => throw Errors.Runtime($"must be real number, not {v.TypeName}"),
    };

    public static bool AreEqual(Value a, Value b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }
        if (IsNumber(a) && IsNumber(b))
        {
            return IsInteger(a) && IsInteger(b) ? ToLong(a) == ToLong(b) : ToDouble(a) == ToDouble(b);
        }
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (a, b)
        {
            case (StringValue x, StringValue y):
                return string.Equals(x.Value, y.Value, StringComparison.Ordinal);
            case (NoneValue, NoneValue):
            case (UndefinedValue, UndefinedValue):
                return true;
            case (ListValue x, ListValue y):
                if (x.IsTuple != y.IsTuple || x.Items.Count != y.Items.Count)
                {
                    return false;
                }
                for (int i = 0; i < x.Items.Count; i++)
                {
                    if (!AreEqual(x.Items[i], y.Items[i]))
                    {
                        return false;
                    }
                }
                return true;
            case (NamespaceValue, _):
            case (_, NamespaceValue):
                return false;
            case (DictValue x, DictValue y):
                if (x.Items.Count != y.Items.Count)
                {
                    return false;
                }
                foreach ((Value key, Value value) in x.Items)
                {
                    if (!y.Items.TryGetValue(key, out Value? other) || !AreEqual(value, other))
                    {
                        return false;
                    }
                }
                return true;
            default:
                return false;
        }
    }

    public static int Hash(Value v)
    {
        switch (v)
        {
            case IntValue or BoolValue:
                return ToLong(v).GetHashCode();
            case FloatValue f:
                double d = f.Value;
                return d == Math.Floor(d) && Math.Abs(d) < 9.2e18 ? ((long)d).GetHashCode() : d.GetHashCode();
            case StringValue s:
                return StringComparer.Ordinal.GetHashCode(s.Value);
            case NoneValue:
                return 0x4E6F6E65;
            case UndefinedValue:
                return 0x556E6466;
            case ListValue l:
                RuntimeHelpers.EnsureSufficientExecutionStack();
                var hash = new HashCode();
                foreach (Value item in l.Items)
                {
                    hash.Add(Hash(item));
                }
                return hash.ToHashCode();
            case NamespaceValue:
                return RuntimeHelpers.GetHashCode(v);
            case DictValue dict:
                return dict.Items.Count;
            default:
                return RuntimeHelpers.GetHashCode(v);
        }
    }

    /// <summary>Python ordering: numbers with numbers, strings by code point, lists lexicographically; anything else is a TypeError.</summary>
    public static int Compare(Value a, Value b, string op = "<")
    {
        if (IsNumber(a) && IsNumber(b))
        {
            return IsInteger(a) && IsInteger(b) ? ToLong(a).CompareTo(ToLong(b)) : ToDouble(a).CompareTo(ToDouble(b));
        }
        if (a is StringValue x && b is StringValue y)
        {
            return Math.Sign(string.CompareOrdinal(x.Value, y.Value));
        }
        if (a is ListValue la && b is ListValue lb && la.IsTuple == lb.IsTuple)
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            for (int i = 0; i < Math.Min(la.Items.Count, lb.Items.Count); i++)
            {
                if (!AreEqual(la.Items[i], lb.Items[i]))
                {
                    return Compare(la.Items[i], lb.Items[i], op);
                }
            }
            return la.Items.Count.CompareTo(lb.Items.Count);
        }
        if (a is UndefinedValue ua)
        {
            throw Errors.Undefined(ua);
        }
        if (b is UndefinedValue ub)
        {
            throw Errors.Undefined(ub);
        }
        throw Errors.Runtime($"'{op}' not supported between instances of '{a.TypeName}' and '{b.TypeName}'");
    }

    /// <summary>Python's len(); undefined has length 0.</summary>
    public static int Length(Value v) => v switch
    {
        StringValue s => PyString.Length(s.Value),
        ListValue l => l.Items.Count,
        DictValue d => d.Items.Count,
        UndefinedValue => 0,
        _ => throw Errors.Runtime($"object of type '{v.TypeName}' has no len()"),
    };

    /// <summary>What a for loop visits: list items, dict keys, string code points; undefined is empty.</summary>
    public static List<Value> Iterate(Value v) => v switch
    {
        ListValue l => [.. l.Items],
        NamespaceValue => throw Errors.Runtime("'Namespace' object is not iterable"),
        DictValue d => [.. d.Items.Keys],
        StringValue s => [.. PyString.CodePoints(s.Value).Select(StringValue.Of)],
        UndefinedValue => [],
        _ => throw Errors.Runtime($"'{v.TypeName}' object is not iterable"),
    };

    /// <summary>Python's <c>item in container</c>.</summary>
    public static bool Contains(Value container, Value item)
    {
        switch (container)
        {
            case StringValue s:
                if (item is not StringValue sub)
                {
                    throw Errors.Runtime($"'in <string>' requires string as left operand, not {item.TypeName}");
                }
                return s.Value.Contains(sub.Value, StringComparison.Ordinal);
            case ListValue l:
                return l.Items.Any(x => AreEqual(x, item));
            case DictValue d:
                return d.Items.ContainsKey(item);
            case UndefinedValue:
                return false;
            default:
                throw Errors.Runtime($"argument of type '{container.TypeName}' is not iterable");
        }
    }
}
