using System.Collections;
using System.Text;

namespace Cria.Core.Gguf;

/// <summary>
/// A typed metadata array. <see cref="Items"/> is a CLR array of the element type (string[], float[],
/// int[] …) or, for nested arrays, GgufArray[].
/// </summary>
public sealed class GgufArray : IEquatable<GgufArray>
{
    public GgufArray(GgufValueType elementType, Array items)
    {
        ArgumentNullException.ThrowIfNull(items);
        Type expected = ClrType(elementType);
        if (items.GetType().GetElementType() != expected)
        {
            throw new ArgumentException($"a GGUF {elementType} array needs {expected.Name}[], not {items.GetType().Name}", nameof(items));
        }
        ElementType = elementType;
        Items = items;
    }

    public GgufValueType ElementType { get; }

    public Array Items { get; }

    public int Count => Items.Length;

    /// <summary>The CLR element type that stores values of <paramref name="type"/>.</summary>
    public static Type ClrType(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.Array => typeof(GgufArray),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown GGUF value type"),
    };

    public bool Equals(GgufArray? other)
    {
        if (other is null || other.ElementType != ElementType || other.Count != Count)
        {
            return false;
        }
        IStructuralEquatable mine = Items;
        return mine.Equals(other.Items, StructuralComparisons.StructuralEqualityComparer);
    }

    public override bool Equals(object? obj) => Equals(obj as GgufArray);

    public override int GetHashCode() => HashCode.Combine(ElementType, Count);

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append('[');
        int shown = Math.Min(Count, 8);
        for (int i = 0; i < shown; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }
            object? item = Items.GetValue(i);
            sb.Append(item is string s ? $"\"{s}\"" : Convert.ToString(item, System.Globalization.CultureInfo.InvariantCulture));
        }
        if (Count > shown)
        {
            sb.Append(", … (").Append(Count).Append(" items)");
        }
        sb.Append(']');
        return sb.ToString();
    }
}
