using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Cria.Templates;

/// <summary>Builds template values from .NET objects and from JSON (requests' messages and tools).</summary>
internal static class ValueConvert
{
    public static Value FromObject(object? o)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        return o switch
        {
            null => NoneValue.Instance,
            Value v => v,
            string s => StringValue.Of(s),
            bool b => BoolValue.Of(b),
            char c => StringValue.Of(c.ToString()),
            int or long or short or sbyte or byte or ushort or uint => IntValue.Of(Convert.ToInt64(o, System.Globalization.CultureInfo.InvariantCulture)),
            ulong u => u <= long.MaxValue ? IntValue.Of((long)u) : new FloatValue(u),
            float f => new FloatValue(f),
            double d => new FloatValue(d),
            decimal m => new FloatValue((double)m),
            JsonElement e => FromJson(e),
            JsonDocument doc => FromJson(doc.RootElement),
            IReadOnlyDictionary<string, object?> map => new DictValue(new OrderedDictionary<Value, Value>(
                map.Select(kv => KeyValuePair.Create<Value, Value>(StringValue.Of(kv.Key), FromObject(kv.Value))))),
            IDictionary dict => FromDictionary(dict),
            IEnumerable items => new ListValue([.. items.Cast<object?>().Select(FromObject)]),
            _ => throw new ArgumentException($"a {o.GetType().Name} cannot be passed to a template; use strings, numbers, bools, lists, dictionaries or JSON"),
        };
    }

    private static DictValue FromDictionary(IDictionary dict)
    {
        var result = new DictValue();
        foreach (DictionaryEntry entry in dict)
        {
            result.Items[FromObject(entry.Key)] = FromObject(entry.Value);
        }
        return result;
    }

    /// <summary>
    /// JSON as Python's json.loads reads it: integers without a fraction or exponent become ints,
    /// other numbers floats; objects keep key order (a repeated key keeps its first position and last value).
    /// </summary>
    public static Value FromJson(JsonElement e)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var dict = new DictValue();
                foreach (JsonProperty p in e.EnumerateObject())
                {
                    dict.Set(p.Name, FromJson(p.Value));
                }
                return dict;
            case JsonValueKind.Array:
                return new ListValue([.. e.EnumerateArray().Select(FromJson)]);
            case JsonValueKind.String:
                return StringValue.Of(e.GetString()!);
            case JsonValueKind.Number:
                return e.TryGetInt64(out long l) ? IntValue.Of(l) : new FloatValue(e.GetDouble());
            case JsonValueKind.True:
                return BoolValue.True;
            case JsonValueKind.False:
                return BoolValue.False;
            default:
                return NoneValue.Instance;
        }
    }
}
