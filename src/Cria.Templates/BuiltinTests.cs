using System.Diagnostics.CodeAnalysis;

namespace Cria.Templates;

/// <summary>Jinja2's tests: the names after <c>is</c> (<c>x is defined</c>, <c>n is divisibleby 3</c>) and in select/selectattr.</summary>
internal static class BuiltinTests
{
    private static readonly Dictionary<string, Func<Interpreter, Value, Arguments, bool>> s_tests = new(StringComparer.Ordinal)
    {
        ["defined"] = (_, v, _) => v is not UndefinedValue,
        ["undefined"] = (_, v, _) => v is UndefinedValue,
        ["none"] = (_, v, _) => v is NoneValue,
        ["boolean"] = (_, v, _) => v is BoolValue,
        ["true"] = (_, v, _) => v is BoolValue { Value: true },
        ["false"] = (_, v, _) => v is BoolValue { Value: false },
        ["integer"] = (_, v, _) => v is IntValue,
        ["float"] = (_, v, _) => v is FloatValue,
        ["number"] = (_, v, _) => ValueOps.IsNumber(v),
        ["string"] = (_, v, _) => v is StringValue,
        ["mapping"] = (_, v, _) => v is DictValue and not NamespaceValue,
        ["iterable"] = (_, v, _) => v is ListValue or StringValue or UndefinedValue || (v is DictValue and not NamespaceValue),
        ["sequence"] = (_, v, _) => v is ListValue or StringValue or UndefinedValue || (v is DictValue and not NamespaceValue),
        ["callable"] = (_, v, _) => v is FunctionValue,
        ["odd"] = (_, v, _) => Parity(v) == 1,
        ["even"] = (_, v, _) => Parity(v) == 0,
        ["divisibleby"] = (_, v, a) => DivisibleBy(v, a),
        ["eq"] = (_, v, a) => ValueOps.AreEqual(v, Other(a, "eq")),
        ["equalto"] = (_, v, a) => ValueOps.AreEqual(v, Other(a, "equalto")),
        ["=="] = (_, v, a) => ValueOps.AreEqual(v, Other(a, "==")),
        ["ne"] = (_, v, a) => !ValueOps.AreEqual(v, Other(a, "ne")),
        ["!="] = (_, v, a) => !ValueOps.AreEqual(v, Other(a, "!=")),
        ["lt"] = (_, v, a) => ValueOps.Compare(v, Other(a, "lt"), "<") < 0,
        ["lessthan"] = (_, v, a) => ValueOps.Compare(v, Other(a, "lessthan"), "<") < 0,
        ["<"] = (_, v, a) => ValueOps.Compare(v, Other(a, "<"), "<") < 0,
        ["le"] = (_, v, a) => ValueOps.Compare(v, Other(a, "le"), "<=") <= 0,
        ["<="] = (_, v, a) => ValueOps.Compare(v, Other(a, "<="), "<=") <= 0,
        ["gt"] = (_, v, a) => ValueOps.Compare(v, Other(a, "gt"), ">") > 0,
        ["greaterthan"] = (_, v, a) => ValueOps.Compare(v, Other(a, "greaterthan"), ">") > 0,
        [">"] = (_, v, a) => ValueOps.Compare(v, Other(a, ">"), ">") > 0,
        ["ge"] = (_, v, a) => ValueOps.Compare(v, Other(a, "ge"), ">=") >= 0,
        [">="] = (_, v, a) => ValueOps.Compare(v, Other(a, ">="), ">=") >= 0,
        ["in"] = (_, v, a) => ValueOps.Contains(Other(a, "in"), v),
        ["sameas"] = (_, v, a) => SameAs(v, Other(a, "sameas")),
        ["lower"] = (_, v, _) => v is StringValue s && s.Value == s.Value.ToLowerInvariant(),
        ["upper"] = (_, v, _) => v is StringValue s && s.Value == s.Value.ToUpperInvariant(),
        ["escaped"] = (_, _, _) => false,
        ["filter"] = (_, v, _) => v is StringValue s && Filters.Exists(s.Value),
        ["test"] = (_, v, _) => v is StringValue s && s_tests!.ContainsKey(s.Value),
    };

    public static bool TryGet(string name, [MaybeNullWhen(false)] out Func<Interpreter, Value, Arguments, bool> test) =>
        s_tests.TryGetValue(name, out test);

    private static Value Other(Arguments a, string test) =>
        a.Positional.Count == 1 && a.Named.Count == 0 ? a.Positional[0] : throw Errors.Runtime($"test '{test}' takes exactly one argument");

    private static long Parity(Value v) => v switch
    {
        IntValue or BoolValue => Math.Abs(ValueOps.ToLong(v) % 2),
        FloatValue f => Math.Abs(f.Value % 2) == 1 ? 1 : f.Value % 2 == 0 ? 0 : -1,
        UndefinedValue u => throw Errors.Undefined(u),
        _ => throw Errors.Runtime($"odd/even need a number, got {v.TypeName}"),
    };

    private static bool DivisibleBy(Value v, Arguments a)
    {
        Value divisor = Other(a, "divisibleby");
        Value zero = IntValue.Of(0);
        return ValueOps.AreEqual(zero, ValueOps.ToDouble(divisor) == 0
            ? throw Errors.Runtime("integer division or modulo by zero")
            : ValueOps.IsInteger(v) && ValueOps.IsInteger(divisor)
                ? IntValue.Of(ValueOps.ToLong(v) % ValueOps.ToLong(divisor))
                : new FloatValue(ValueOps.ToDouble(v) % ValueOps.ToDouble(divisor)));
    }

    private static bool SameAs(Value a, Value b) =>
        ReferenceEquals(a, b) || (a is NoneValue && b is NoneValue) || (a is BoolValue x && b is BoolValue y && x.Value == y.Value);
}
