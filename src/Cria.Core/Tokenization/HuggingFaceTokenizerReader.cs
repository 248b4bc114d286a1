using System.Text.Json;

namespace Cria.Core.Tokenization;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> (BPE models) into a <see cref="TokenizerVocab"/>, with
/// the token types llama.cpp's converter gives (special added tokens are control, other added
/// tokens user-defined, &lt;0xNN&gt; pieces bytes). BOS/EOS and whether to add them come from a
/// <c>tokenizer_config.json</c> beside it, else from the post-processor template.
/// Format: https://huggingface.co/docs/tokenizers/api/tokenizer (serialization of <c>Tokenizer</c>).
/// </summary>
internal static class HuggingFaceTokenizerReader
{
    // Split patterns that have code-point scanners here (PreTokenizer.ForLlamaCpp names).
    private const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static TokenizerVocab Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            using JsonDocument? config = ReadConfig(path);
            return Read(path, doc.RootElement, config?.RootElement);
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: not valid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // JsonElement accessors throw these when a value has the wrong JSON type or range
            throw new TokenizerException($"{path}: unexpected structure: {e.Message}", e);
        }
    }

    private static JsonDocument? ReadConfig(string path)
    {
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", "tokenizer_config.json");
        return File.Exists(configPath) ? JsonDocument.Parse(File.ReadAllBytes(configPath)) : null;
    }

    private static TokenizerVocab Read(string path, JsonElement root, JsonElement? config)
    {
        JsonElement model = Get(root, "model", path);
        string type = model.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "BPE";
        if (type != "BPE")
        {
            throw new TokenizerException($"{path}: model type '{type}' is not supported (only BPE)");
        }

        bool byteFallback = Bool(model, "byte_fallback");
        (string[] tokens, TokenType[] types, List<int> stripLeft, List<int> stripRight) = ReadPieces(root, model, byteFallback, path);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokens.Length; id++)
        {
            ids[tokens[id]] = id;
        }
        int unk = model.TryGetProperty("unk_token", out JsonElement u) && u.ValueKind == JsonValueKind.String
            && ids.TryGetValue(u.GetString()!, out int unkId) ? unkId : -1;

        bool byteLevel = Mentions(root, "pre_tokenizer", "ByteLevel") || Mentions(root, "decoder", "ByteLevel");
        var patterns = new List<string>();
        bool metaspacePrefix = false;
        if (root.TryGetProperty("pre_tokenizer", out JsonElement pre) && pre.ValueKind == JsonValueKind.Object)
        {
            CollectPreTokenizer(pre, patterns, ref metaspacePrefix, path);
        }
        string? preName = null;
        IReadOnlyList<string>? splitPatterns = null;
        if (byteLevel)
        {
            preName = patterns.Count switch
            {
                1 when patterns[0] == Llama3Pattern => "llama3",
                1 when patterns[0] == Qwen2Pattern => "qwen2",
                1 when patterns[0] == Gpt2Pattern => "gpt-2",
                _ => null,
            };
            splitPatterns = preName is null ? patterns : null; // no patterns: the whole text is one word
        }

        (int bos, bool? addBos) = SpecialFromConfig(config, "bos_token", "add_bos_token", ids);
        (int eos, bool? addEos) = SpecialFromConfig(config, "eos_token", "add_eos_token", ids);
        int templateBos = TemplateFirstSpecial(root, ids);
        if (bos < 0)
        {
            bos = templateBos;
        }

        return new TokenizerVocab
        {
            Source = path,
            Kind = byteLevel ? TokenizerKind.ByteLevelBpe : TokenizerKind.SentencePieceBpe,
            Tokens = tokens,
            Types = types,
            Merges = ReadMerges(Get(model, "merges", path), path),
            PreTokenizer = preName,
            SplitPatterns = splitPatterns,
            BosId = bos,
            EosId = eos,
            UnknownId = unk,
            // when the config does not say, a Llama 3 vocabulary adds BOS, as in llama.cpp
            AddBos = addBos ?? (templateBos >= 0 || preName == "llama3"),
            AddEos = addEos ?? false,
            AddSpacePrefix = !byteLevel && (metaspacePrefix || HasPrependSpaceMark(root)),
            IgnoreMerges = Bool(model, "ignore_merges"),
            ByteFallback = byteFallback,
            FuseUnknown = Bool(model, "fuse_unk"),
            StripLeft = stripLeft,
            StripRight = stripRight,
        };
    }

    /// <summary>
    /// The id space a file with <paramref name="pieces"/> pieces may use: holes of unused ids are allowed
    /// (reserved ranges), but not more of them than four times the pieces plus 4,096, and never past 2²⁴.
    /// </summary>
    internal static int MaxIdSpace(int pieces) => (int)Math.Min(1 << 24, 4L * pieces + 4096);

    private static int Id(JsonElement value, string field, string path) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int id)
            ? id
            : throw new TokenizerException($"{path}: {field} must be an integer token id, got {Shorten(value.GetRawText())}");

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>
    /// Pieces by id (the model's vocabulary, then added tokens, which may extend it) with their
    /// types, and the added tokens that strip whitespace beside them.
    /// </summary>
    private static (string[] Tokens, TokenType[] Types, List<int> StripLeft, List<int> StripRight) ReadPieces(
        JsonElement root, JsonElement model, bool byteFallback, string path)
    {
        var byId = new Dictionary<int, string>();
        foreach (JsonProperty p in Get(model, "vocab", path).EnumerateObject())
        {
            byId[Id(p.Value, $"model.vocab[\"{p.Name}\"]", path)] = p.Name;
        }
        var added = new List<(int Id, bool Special, bool LStrip, bool RStrip)>();
        if (root.TryGetProperty("added_tokens", out JsonElement addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement a in addedTokens.EnumerateArray())
            {
                int id = Id(Get(a, "id", path), "added_tokens[].id", path);
                byId[id] = Get(a, "content", path).GetString() ?? "";
                added.Add((id, Bool(a, "special"), Bool(a, "lstrip"), Bool(a, "rstrip")));
            }
        }
        if (byId.Keys.Any(id => id < 0))
        {
            throw new TokenizerException($"{path}: negative token id");
        }
        long maxId = byId.Count == 0 ? -1 : byId.Keys.Max();
        if (maxId >= MaxIdSpace(byId.Count))
        {
            // Ids are table indices: a file naming id 10⁸ with a few pieces would make every table that large.
            throw new TokenizerException($"{path}: token id {maxId} is far beyond the {byId.Count} pieces the file defines (at most {MaxIdSpace(byId.Count)} ids are accepted)");
        }
        int n = (int)(maxId + 1);
        var tokens = new string[n];
        var types = new TokenType[n];
        for (int id = 0; id < n; id++)
        {
            if (!byId.TryGetValue(id, out string? piece))
            {
                tokens[id] = "";
                types[id] = TokenType.Unused; // a hole in the id space
                continue;
            }
            tokens[id] = piece;
            types[id] = byteFallback && PieceBytes.TryParseByte(piece, out _) ? TokenType.Byte : TokenType.Normal;
        }
        var stripLeft = new List<int>();
        var stripRight = new List<int>();
        foreach ((int id, bool special, bool lstrip, bool rstrip) in added)
        {
            // as llama.cpp's converter: special added tokens are control, the others user-defined
            types[id] = special ? TokenType.Control : TokenType.UserDefined;
            if (lstrip)
            {
                stripLeft.Add(id);
            }
            if (rstrip)
            {
                stripRight.Add(id);
            }
        }
        return (tokens, types, stripLeft, stripRight);
    }

    private static (string, string)[] ReadMerges(JsonElement merges, string path)
    {
        var result = new (string, string)[merges.GetArrayLength()];
        int i = 0;
        foreach (JsonElement m in merges.EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
            {
                result[i++] = (m[0].GetString() ?? "", m[1].GetString() ?? "");
                continue;
            }
            string s = m.GetString() ?? "";
            int space = s.Length > 1 ? s.IndexOf(' ', 1) : -1;
            if (space < 0)
            {
                throw new TokenizerException($"{path}: merge {i} \"{s}\" is not two parts separated by a space");
            }
            result[i++] = (s[..space], s[(space + 1)..]);
        }
        return result;
    }

    /// <summary>Split regexes in order, and whether a Metaspace pre-tokenizer adds the '▁' prefix.</summary>
    private static void CollectPreTokenizer(JsonElement pre, List<string> patterns, ref bool metaspacePrefix, string path)
    {
        string type = pre.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";
        switch (type)
        {
            case "Sequence":
                foreach (JsonElement p in Get(pre, "pretokenizers", path).EnumerateArray())
                {
                    CollectPreTokenizer(p, patterns, ref metaspacePrefix, path);
                }
                break;
            case "Split":
                string behavior = pre.TryGetProperty("behavior", out JsonElement b) ? b.GetString() ?? "" : "";
                if (behavior != "Isolated" || Bool(pre, "invert"))
                {
                    throw new TokenizerException($"{path}: Split pre-tokenizer with behavior '{behavior}' is not supported (only Isolated)");
                }
                JsonElement pattern = Get(pre, "pattern", path);
                if (pattern.TryGetProperty("Regex", out JsonElement regex))
                {
                    patterns.Add(regex.GetString() ?? "");
                }
                else
                {
                    patterns.Add(System.Text.RegularExpressions.Regex.Escape(Get(pattern, "String", path).GetString() ?? ""));
                }
                break;
            case "ByteLevel":
                if (!pre.TryGetProperty("use_regex", out JsonElement useRegex) || useRegex.GetBoolean())
                {
                    patterns.Add(Gpt2Pattern);
                }
                break;
            case "Metaspace":
                string scheme = pre.TryGetProperty("prepend_scheme", out JsonElement s) ? s.GetString() ?? "always" : "always";
                bool add = !pre.TryGetProperty("add_prefix_space", out JsonElement a) || a.GetBoolean();
                metaspacePrefix = add && scheme != "never";
                break;
            default:
                throw new TokenizerException($"{path}: pre-tokenizer '{type}' is not supported");
        }
    }

    /// <summary>A normalizer that prepends '▁' (Mistral, newer Llama 2 conversions).</summary>
    private static bool HasPrependSpaceMark(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out JsonElement norm) || norm.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        IEnumerable<JsonElement> parts = norm.TryGetProperty("normalizers", out JsonElement list) ? list.EnumerateArray() : [norm];
        return parts.Any(p => p.TryGetProperty("type", out JsonElement t) && t.GetString() == "Prepend"
            && p.TryGetProperty("prepend", out JsonElement v) && v.GetString() == "\u2581");
    }

    private static (int Id, bool? Add) SpecialFromConfig(JsonElement? config, string tokenKey, string addKey, Dictionary<string, int> ids)
    {
        if (config is not JsonElement c)
        {
            return (-1, null);
        }
        int id = -1;
        if (c.TryGetProperty(tokenKey, out JsonElement tok))
        {
            string? text = tok.ValueKind switch
            {
                JsonValueKind.String => tok.GetString(),
                JsonValueKind.Object when tok.TryGetProperty("content", out JsonElement content) => content.GetString(),
                _ => null,
            };
            if (text is not null && ids.TryGetValue(text, out int found))
            {
                id = found;
            }
        }
        bool? add = c.TryGetProperty(addKey, out JsonElement a) && a.ValueKind is JsonValueKind.True or JsonValueKind.False ? a.GetBoolean() : null;
        return (id, add);
    }

    /// <summary>The special token a TemplateProcessing post-processor puts first, or -1.</summary>
    private static int TemplateFirstSpecial(JsonElement root, Dictionary<string, int> ids)
    {
        if (root.TryGetProperty("post_processor", out JsonElement post) && post.ValueKind == JsonValueKind.Object
            && post.TryGetProperty("single", out JsonElement single) && single.ValueKind == JsonValueKind.Array
            && single.GetArrayLength() > 0 && single[0].TryGetProperty("SpecialToken", out JsonElement st)
            && st.TryGetProperty("id", out JsonElement name) && ids.TryGetValue(name.GetString() ?? "", out int id))
        {
            return id;
        }
        return -1;
    }

    private static bool Mentions(JsonElement root, string property, string type)
    {
        return root.TryGetProperty(property, out JsonElement e) && Walk(e);

        bool Walk(JsonElement x) => x.ValueKind switch
        {
            JsonValueKind.Object => (x.TryGetProperty("type", out JsonElement t) && t.GetString() == type)
                || x.EnumerateObject().Any(p => Walk(p.Value)),
            JsonValueKind.Array => x.EnumerateArray().Any(Walk),
            _ => false,
        };
    }

    private static JsonElement Get(JsonElement e, string name, string path) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v)
            ? v
            : throw new TokenizerException($"{path}: '{name}' is missing");

    private static bool Bool(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.True;
}
