using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

using Cria.Core.Gguf;
using Cria.Grammar;
using Cria.Server.Http;
using Cria.Server.Ollama;
using Cria.Server.OpenAi;
using Cria.Templates;

using Microsoft.AspNetCore.Http;

namespace Cria.Fuzz.Tests;

/// <summary>
/// Inputs that claim more than they hold, or nest deeper than any real one: each fails fast, with the
/// parser's own error naming what is wrong, having allocated a bounded amount (checked with
/// <see cref="GC.GetTotalAllocatedBytes"/> around the call) — the size is checked before the allocation.
/// </summary>
public sealed class HugeClaimTests
{
    private const long AllocationLimit = 64L << 20;
    private const int Deep = 10_000;
    private static readonly TimeSpan s_timeLimit = TimeSpan.FromSeconds(5);

    [Fact]
    public void A_gguf_with_a_tensor_count_of_2_to_the_63_is_refused_before_any_table_is_sized()
    {
        byte[] file = GgufHeader(tensorCount: 1UL << 63, kvCount: 0);
        string message = Refused<GgufFormatException>(() => OpenGguf(file)).Message;
        Assert.Contains("tensor_count", message);
        Assert.Contains("9223372036854775808", message);
    }

    [Fact]
    public void A_gguf_with_a_metadata_count_of_2_to_the_64_minus_1_is_refused()
    {
        byte[] file = GgufHeader(tensorCount: 0, kvCount: ulong.MaxValue);
        Assert.Contains("metadata_kv_count", Refused<GgufFormatException>(() => OpenGguf(file)).Message);
    }

    [Fact]
    public void A_gguf_key_claiming_4_GB_is_refused_without_reading_it()
    {
        byte[] file = [.. GgufHeader(tensorCount: 0, kvCount: 1), .. U64(4UL << 30), .. "general.name"u8];
        string message = Refused<GgufFormatException>(() => OpenGguf(file)).Message;
        Assert.Contains("metadata[0].key", message);
        Assert.Contains("string length 4294967296", message);
    }

    [Fact]
    public void A_gguf_string_value_claiming_4_GB_is_refused_without_reading_it()
    {
        byte[] file = [.. GgufHeader(tensorCount: 0, kvCount: 1), .. U64(1), .. "a"u8, .. U32(8), .. U64(4UL << 30), .. "xyz"u8];
        string message = Refused<GgufFormatException>(() => OpenGguf(file)).Message;
        Assert.Contains("metadata \"a\"", message);
        Assert.Contains("string length 4294967296", message);
    }

    [Fact]
    public void A_gguf_array_claiming_2_to_the_62_elements_is_refused_before_it_is_allocated()
    {
        // key "a", type array (9), element type uint64 (10), count 2^62
        byte[] file = [.. GgufHeader(tensorCount: 0, kvCount: 1), .. U64(1), .. "a"u8, .. U32(9), .. U32(10), .. U64(1UL << 62), .. new byte[64]];
        Assert.Contains("count 4611686018427387904", Refused<GgufFormatException>(() => OpenGguf(file)).Message);
    }

    [Fact]
    public void A_gguf_tensor_claiming_dimensions_whose_product_overflows_is_refused()
    {
        byte[] file =
        [
            .. GgufHeader(tensorCount: 1, kvCount: 0), .. U64(1), .. "t"u8, .. U32(2),
            .. U64(1UL << 40), .. U64(1UL << 40), .. U32(0), .. U64(0), .. new byte[64],
        ];
        Assert.Contains("overflows", Refused<GgufFormatException>(() => OpenGguf(file)).Message);
    }

    public static TheoryData<string> Dialects() => ["openai-chat", "openai-completions", "openai-embeddings", "ollama-chat", "ollama-generate", "ollama-embed"];

    [Theory]
    [MemberData(nameof(Dialects))]
    public void A_request_body_nested_10000_deep_is_a_400_that_says_where(string dialect)
    {
        string deep = new string('[', Deep) + new string(']', Deep);
        byte[] body = Encoding.UTF8.GetBytes($"{{\"model\":\"m\",\"prompt\":\"x\",\"input\":\"x\",\"messages\":[{{\"role\":\"user\",\"content\":{deep}}}]}}");
        ApiException e = Refused<ApiException>(() => ReadBody(dialect, body));
        Assert.Equal(400, e.Status);
        Assert.Contains("invalid request body", e.Message);
        Assert.Contains("line 1", e.Message);
    }

    [Fact]
    public void A_jinja_expression_nested_10000_deep_is_a_template_error()
    {
        string source = "{{ " + new string('(', Deep) + "1" + new string(')', Deep) + " }}";
        TemplateException e = Refused<TemplateException>(() => Template.Parse(source));
        Assert.Equal(1, e.Line);
    }

    [Fact]
    public void A_jinja_template_of_10000_nested_blocks_is_a_template_error()
    {
        string source = string.Concat(Enumerable.Repeat("{% if true %}", Deep)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", Deep));
        Assert.NotEmpty(Refused<TemplateException>(() => Template.Parse(source)).Message);
    }

    [Fact]
    public void A_jinja_list_literal_nested_10000_deep_is_a_template_error()
    {
        string source = "{{ " + new string('[', Deep) + new string(']', Deep) + " }}";
        Assert.NotEmpty(Refused<TemplateException>(() => new ChatTemplate(source)).Message);
    }

    [Fact]
    public void A_gbnf_alternation_nested_10000_deep_is_a_grammar_error()
    {
        string gbnf = "root ::= " + new string('(', Deep) + "\"a\"" + new string(')', Deep);
        Assert.Contains("line 1", Refused<GrammarException>(() => CompiledGrammar.Parse(gbnf)).Message);
    }

    [Fact]
    public void A_json_schema_nested_10000_deep_is_a_grammar_error()
    {
        string schema = string.Concat(Enumerable.Repeat("{\"type\":\"array\",\"items\":", Deep)) + "{}" + new string('}', Deep);
        Assert.NotEmpty(Refused<GrammarException>(() => CompiledGrammar.FromJsonSchema(schema)).Message);
    }

    [Fact]
    public void A_json_schema_of_10000_nested_properties_is_a_grammar_error()
    {
        string schema = string.Concat(Enumerable.Repeat("{\"type\":\"object\",\"properties\":{\"a\":", Deep)) + "{}" + string.Concat(Enumerable.Repeat("}}", Deep));
        Assert.NotEmpty(Refused<GrammarException>(() => CompiledGrammar.FromJsonSchema(schema)).Message);
    }

    /// <summary>Runs <paramref name="parse"/>, which must throw <typeparamref name="T"/> within the time and allocation limits.</summary>
    private static T Refused<T>(Action parse)
        where T : Exception
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        T e = Assert.Throws<T>(parse);
        clock.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(clock.Elapsed < s_timeLimit, $"took {clock.Elapsed.TotalSeconds:F1}s to refuse: {e.Message}");
        Assert.True(allocated < AllocationLimit, $"allocated {allocated:N0} bytes to refuse: {e.Message}");
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        return e;
    }

    private static void OpenGguf(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"cria-fuzz-tests-{Environment.ProcessId}-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        try
        {
            using GgufFile file = GgufFile.Open(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void ReadBody(string dialect, byte[] body)
    {
        var http = new DefaultHttpContext();
        http.Request.ContentLength = body.Length;
        http.Request.Body = new MemoryStream(body);
        HttpRequest r = http.Request;
        object _ = dialect switch
        {
            "openai-chat" => JsonBody.ReadAsync(r, OpenAiJsonContext.Api.ChatCompletionRequest).GetAwaiter().GetResult(),
            "openai-completions" => JsonBody.ReadAsync(r, OpenAiJsonContext.Api.CompletionRequest).GetAwaiter().GetResult(),
            "openai-embeddings" => JsonBody.ReadAsync(r, OpenAiJsonContext.Api.EmbeddingRequest).GetAwaiter().GetResult(),
            "ollama-chat" => JsonBody.ReadAsync(r, OllamaJsonContext.Api.OllamaChatRequest).GetAwaiter().GetResult(),
            "ollama-generate" => JsonBody.ReadAsync(r, OllamaJsonContext.Api.OllamaGenerateRequest).GetAwaiter().GetResult(),
            "ollama-embed" => JsonBody.ReadAsync(r, OllamaJsonContext.Api.OllamaEmbedRequest).GetAwaiter().GetResult(),
            _ => throw new ArgumentException(dialect),
        };
    }

    private static byte[] GgufHeader(ulong tensorCount, ulong kvCount) => [.. U32(GgufFile.Magic), .. U32(3), .. U64(tensorCount), .. U64(kvCount)];

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }
}
