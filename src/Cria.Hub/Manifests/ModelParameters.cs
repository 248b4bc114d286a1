using System.Globalization;
using System.Text.Json;

namespace Cria.Hub.Manifests;

/// <summary>
/// A model's default options — the params layer, a JSON object like <c>{"stop":["&lt;|im_end|&gt;"],"temperature":0.7}</c>
/// — with Ollama's keys and value types (api/types.go Options and Runner; values parsed like
/// api.FormatParams): integers, 32-bit floats, booleans and the string list <c>stop</c>. Keys are
/// written in ordinal order, so equal parameters give equal bytes and the same blob.
/// Immutable; <see cref="With"/> and <see cref="Merge"/> return new instances.
/// </summary>
public sealed class ModelParameters
{
    private enum Kind
    {
        Integer,
        Float,
        Bool,
        Strings,
    }

    public const int MaxStops = 64;
    public const int MaxStopLength = 1024;

    private static readonly Dictionary<string, Kind> s_known = new(StringComparer.Ordinal)
    {
        ["num_keep"] = Kind.Integer,
        ["seed"] = Kind.Integer,
        ["num_predict"] = Kind.Integer,
        ["top_k"] = Kind.Integer,
        ["top_p"] = Kind.Float,
        ["min_p"] = Kind.Float,
        ["typical_p"] = Kind.Float,
        ["repeat_last_n"] = Kind.Integer,
        ["temperature"] = Kind.Float,
        ["repeat_penalty"] = Kind.Float,
        ["presence_penalty"] = Kind.Float,
        ["frequency_penalty"] = Kind.Float,
        ["stop"] = Kind.Strings,
        ["num_ctx"] = Kind.Integer,
        ["num_batch"] = Kind.Integer,
        ["num_gpu"] = Kind.Integer,
        ["main_gpu"] = Kind.Integer,
        ["use_mmap"] = Kind.Bool,
        ["num_thread"] = Kind.Integer,
        ["draft_num_predict"] = Kind.Integer,
    };

    /// <summary>Keys Ollama once accepted and now ignores with a warning (parser.go deprecatedParameters, plus options removed since).</summary>
    private static readonly HashSet<string> s_deprecated = new(StringComparer.Ordinal)
    {
        "penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock",
        "mirostat", "mirostat_tau", "mirostat_eta", "tfs_z", "num_gqa", "rope_frequency_base", "rope_frequency_scale", "numa",
    };

    private readonly SortedDictionary<string, object> _values;

    private ModelParameters(SortedDictionary<string, object> values) => _values = values;

    public static ModelParameters Empty { get; } = new(new SortedDictionary<string, object>(StringComparer.Ordinal));

    public int Count => _values.Count;

    /// <summary>The keys set, in ordinal order.</summary>
    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>Whether <paramref name="key"/> is one of Ollama's option names.</summary>
    public static bool IsKnown(string key) => s_known.ContainsKey(key);

    /// <summary>Whether <paramref name="key"/> is an option Ollama no longer uses (accepted and ignored).</summary>
    public static bool IsDeprecated(string key) => s_deprecated.Contains(key);

    public bool Contains(string key) => _values.ContainsKey(key);

    public long? GetInteger(string key) => _values.TryGetValue(key, out object? v) && v is long l ? l : null;

    public float? GetFloat(string key) => _values.TryGetValue(key, out object? v) && v is float f ? f : null;

    public bool? GetBool(string key) => _values.TryGetValue(key, out object? v) && v is bool b ? b : null;

    public IReadOnlyList<string> GetStrings(string key) => _values.TryGetValue(key, out object? v) && v is string[] s ? s : [];

    /// <summary>
    /// Parses one <c>PARAMETER key value</c>: the key must be known and the value of its type (and
    /// sensible: finite, in range). A repeated list key (<c>stop</c>) accumulates; any other replaces.
    /// </summary>
    /// <exception cref="HubException">Unknown key, bad value; the message names both.</exception>
    public ModelParameters With(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (!s_known.TryGetValue(key, out Kind kind))
        {
            throw new HubException(s_deprecated.Contains(key)
                ? $"parameter \"{key}\" is no longer used"
                : $"unknown parameter \"{Digest.Printable(key)}\"; known: {string.Join(", ", s_known.Keys.Order(StringComparer.Ordinal))}");
        }
        object parsed = kind switch
        {
            Kind.Integer => ParseInteger(key, value),
            Kind.Float => ParseFloat(key, value),
            Kind.Bool => ParseBool(key, value),
            _ => AppendStop(value),
        };
        var values = new SortedDictionary<string, object>(_values, StringComparer.Ordinal) { [key] = parsed };
        return new ModelParameters(values);
    }

    /// <summary>These parameters with every key of <paramref name="overrides"/> replaced by its value there (how a derivative's PARAMETERs apply over its base's).</summary>
    public ModelParameters Merge(ModelParameters overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var values = new SortedDictionary<string, object>(_values, StringComparer.Ordinal);
        foreach ((string k, object v) in overrides._values)
        {
            values[k] = v;
        }
        return new ModelParameters(values);
    }

    /// <summary>The params layer: a compact JSON object, keys in ordinal order.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = HubJsonContext.Encoder }))
        {
            w.WriteStartObject();
            foreach ((string k, object v) in _values)
            {
                w.WritePropertyName(k);
                switch (v)
                {
                    case long l: w.WriteNumberValue(l); break;
                    case float f: w.WriteNumberValue(f); break;
                    case bool b: w.WriteBooleanValue(b); break;
                    case string[] list:
                        w.WriteStartArray();
                        foreach (string s in list)
                        {
                            w.WriteStringValue(s);
                        }
                        w.WriteEndArray();
                        break;
                    case JsonElement raw: raw.WriteTo(w); break;
                }
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Reads a params layer. Known keys must have values of their type (a whole float for an integer is
    /// accepted); keys Cria does not know are kept as they are, so a pulled model's parameters survive.
    /// </summary>
    /// <exception cref="HubException">Not a JSON object, or a known key with a value of the wrong type.</exception>
    public static ModelParameters FromJson(ReadOnlySpan<byte> json, string source)
    {
        var values = new SortedDictionary<string, object>(StringComparer.Ordinal);
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new HubException($"parameters of {source} are not a JSON object");
            }
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                values[p.Name] = s_known.TryGetValue(p.Name, out Kind kind) ? FromJsonValue(p.Name, kind, p.Value, source) : p.Value.Clone();
            }
        }
        catch (JsonException e)
        {
            throw new HubException($"parameters of {source} are not valid JSON: {e.Message}", e);
        }
        return new ModelParameters(values);
    }

    /// <summary>Each parameter as Modelfile <c>PARAMETER</c> arguments (a list gives one line per item).</summary>
    public IEnumerable<(string Key, string Value)> ToModelfileArguments()
    {
        foreach ((string k, object v) in _values)
        {
            switch (v)
            {
                case string[] list:
                    foreach (string s in list)
                    {
                        yield return (k, s);
                    }
                    break;
                case long l: yield return (k, l.ToString(CultureInfo.InvariantCulture)); break;
                case float f: yield return (k, f.ToString("R", CultureInfo.InvariantCulture)); break;
                case bool b: yield return (k, b ? "true" : "false"); break;
                case JsonElement raw: yield return (k, raw.GetRawText()); break;
            }
        }
    }

    private string[] AppendStop(string value)
    {
        if (value.Length is 0 or > MaxStopLength)
        {
            throw new HubException($"parameter stop must be 1 to {MaxStopLength} characters, got {value.Length}");
        }
        string[] existing = GetStrings("stop") as string[] ?? [];
        if (existing.Length >= MaxStops)
        {
            throw new HubException($"at most {MaxStops} stop strings are allowed");
        }
        return existing.Contains(value, StringComparer.Ordinal) ? existing : [.. existing, value];
    }

    private static long ParseInteger(string key, string text)
    {
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            throw new HubException($"parameter {key} must be an integer, got \"{Digest.Printable(text)}\"");
        }
        CheckRange(key, v);
        return v;
    }

    private static float ParseFloat(string key, string text)
    {
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
        {
            throw new HubException($"parameter {key} must be a finite number, got \"{Digest.Printable(text)}\"");
        }
        CheckRange(key, v);
        return v;
    }

    /// <summary>Go's strconv.ParseBool spellings.</summary>
    private static bool ParseBool(string key, string text) => text switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => throw new HubException($"parameter {key} must be true or false, got \"{Digest.Printable(text)}\""),
    };

    private static void CheckRange(string key, double v)
    {
        (double min, double max) = key switch
        {
            "temperature" or "repeat_penalty" => (0, 1e6),
            "top_p" or "min_p" or "typical_p" => (0, 1),
            "presence_penalty" or "frequency_penalty" => (-1e6, 1e6),
            "top_k" or "num_keep" or "num_thread" or "num_batch" => (0, int.MaxValue),
            "num_ctx" => (0, 1 << 24),
            "repeat_last_n" => (-1, int.MaxValue),
            "num_predict" or "draft_num_predict" => (-2, int.MaxValue),
            "num_gpu" or "main_gpu" => (-1, 1 << 16),
            _ => (double.NegativeInfinity, double.PositiveInfinity),
        };
        if (v < min || v > max)
        {
            throw new HubException(string.Create(CultureInfo.InvariantCulture, $"parameter {key} must be between {min} and {max}, got {v}"));
        }
    }

    private static object FromJsonValue(string key, Kind kind, JsonElement value, string source)
    {
        switch (kind)
        {
            case Kind.Integer when value.ValueKind == JsonValueKind.Number:
                if (value.TryGetInt64(out long l))
                {
                    return l;
                }
                if (value.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e18)
                {
                    return (long)d;
                }
                break;
            case Kind.Float when value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out float f) && float.IsFinite(f):
                return f;
            case Kind.Bool when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return value.GetBoolean();
            case Kind.Strings when value.ValueKind == JsonValueKind.Array:
                if (value.GetArrayLength() <= MaxStops && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                {
                    return value.EnumerateArray().Select(e => e.GetString()!).ToArray();
                }
                break;
            case Kind.Strings when value.ValueKind == JsonValueKind.String:
                return new[] { value.GetString()! };
        }
        throw new HubException($"parameters of {source}: \"{key}\" has a {value.ValueKind} value, which is not a valid {kind.ToString().ToLowerInvariant()}");
    }
}
