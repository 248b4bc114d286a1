using System.Globalization;

namespace Cria.Core.Gguf;

/// <summary>
/// One metadata value: a scalar, a string, or a <see cref="GgufArray"/>. Scalars are boxed: metadata
/// is read once at load time, never on a hot path.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, object value)
    {
        Type = type;
        Value = value;
    }

    public GgufValueType Type { get; }

    /// <summary>byte, sbyte, ushort, short, uint, int, float, bool, string, ulong, long, double or <see cref="GgufArray"/>.</summary>
    public object Value { get; }

    public static GgufValue From(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue From(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue From(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue From(short v) => new(GgufValueType.Int16, v);
    public static GgufValue From(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue From(int v) => new(GgufValueType.Int32, v);
    public static GgufValue From(float v) => new(GgufValueType.Float32, v);
    public static GgufValue From(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue From(string v) => new(GgufValueType.String, v ?? throw new ArgumentNullException(nameof(v)));
    public static GgufValue From(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue From(long v) => new(GgufValueType.Int64, v);
    public static GgufValue From(double v) => new(GgufValueType.Float64, v);
    public static GgufValue From(GgufArray v) => new(GgufValueType.Array, v ?? throw new ArgumentNullException(nameof(v)));

    public static GgufValue From(string[] v) => From(new GgufArray(GgufValueType.String, v));
    public static GgufValue From(float[] v) => From(new GgufArray(GgufValueType.Float32, v));
    public static GgufValue From(int[] v) => From(new GgufArray(GgufValueType.Int32, v));

    /// <summary>The value as a 64-bit integer, for any integer type (or bool); null otherwise or when out of range.</summary>
    public long? AsInteger() => Value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        ulong v => v <= long.MaxValue ? (long)v : null,
        long v => v,
        bool v => v ? 1 : 0,
        _ => null,
    };

    /// <summary>The value as a double, for any numeric type; null otherwise.</summary>
    public double? AsFloat() => Value switch
    {
        float v => v,
        double v => v,
        _ => AsInteger(),
    };

    public string? AsString() => Value as string;

    public GgufArray? AsArray() => Value as GgufArray;

    public bool Equals(GgufValue? other) =>
        other is not null && other.Type == Type &&
        (Value is GgufArray a ? a.Equals(other.Value as GgufArray) : Value.Equals(other.Value));

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => HashCode.Combine(Type, Value is GgufArray a ? a.Count : Value.GetHashCode());

    public override string ToString() => Value switch
    {
        string s => s,
        float f => f.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        GgufArray a => a.ToString(),
        _ => Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "",
    };
}
