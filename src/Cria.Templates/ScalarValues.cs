using System.Globalization;

namespace Cria.Templates;

// The immutable scalar values. They are tiny and only make sense together, so they share a file.

/// <summary>
/// Jinja's default Undefined: prints as "", is false, iterates as empty, has length 0; attribute and
/// item access on it give undefined again; arithmetic, calls and JSON on it are errors that quote
/// <see cref="Hint"/>.
/// </summary>
internal sealed class UndefinedValue(string hint) : Value
{
    /// <summary>Why it is undefined, in Jinja2's words: "'x' is undefined", "'dict object' has no attribute 'y'".</summary>
    public string Hint { get; } = hint;

    public override string TypeName => "Undefined";

    public override bool IsTrue => false;

    public override string ToString() => "";

    public override string Repr() => "Undefined";

    public static UndefinedValue ForName(string name) => new($"'{name}' is undefined");

    public static UndefinedValue ForAttribute(Value target, string name) =>
        target is UndefinedValue u ? u : new($"'{target.TypeName} object' has no attribute '{name}'");
}

internal sealed class NoneValue : Value
{
    public static NoneValue Instance { get; } = new();

    private NoneValue()
    {
    }

    public override string TypeName => "NoneType";

    public override bool IsTrue => false;

    public override string ToString() => "None";
}

internal sealed class BoolValue : Value
{
    public static BoolValue True { get; } = new(true);

    public static BoolValue False { get; } = new(false);

    private BoolValue(bool value)
    {
        Value = value;
    }

    public bool Value { get; }

    public override string TypeName => "bool";

    public override bool IsTrue => Value;

    public static BoolValue Of(bool value) => value ? True : False;

    public override string ToString() => Value ? "True" : "False";
}

internal sealed class IntValue(long value) : Value
{
    private static readonly IntValue[] s_small = [.. Enumerable.Range(-8, 264).Select(i => new IntValue(i))];

    public long Value { get; } = value;

    public override string TypeName => "int";

    public override bool IsTrue => Value != 0;

    public static IntValue Of(long value) => value is >= -8 and < 256 ? s_small[value + 8] : new IntValue(value);

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}

internal sealed class FloatValue(double value) : Value
{
    public double Value { get; } = value;

    public override string TypeName => "float";

    public override bool IsTrue => Value != 0;

    public override string ToString() => PyFormat.FloatRepr(Value);
}

internal sealed class StringValue(string value) : Value
{
    public static StringValue Empty { get; } = new("");

    public string Value { get; } = value;

    public override string TypeName => "str";

    public override bool IsTrue => Value.Length > 0;

    public static StringValue Of(string value) => value.Length == 0 ? Empty : new StringValue(value);

    public override string ToString() => Value;

    public override string Repr() => PyFormat.StringRepr(Value);
}
