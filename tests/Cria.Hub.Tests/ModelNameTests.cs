namespace Cria.Hub.Tests;

public sealed class ModelNameTests
{
    [Theory]
    [InlineData("llama3", "registry.ollama.ai", "library", "llama3", "latest")]
    [InlineData("llama3.2:1b", "registry.ollama.ai", "library", "llama3.2", "1b")]
    [InlineData("jmorgan/mixtral:8x7b", "registry.ollama.ai", "jmorgan", "mixtral", "8x7b")]
    [InlineData("example.com/team/my-model:v1.0", "example.com", "team", "my-model", "v1.0")]
    [InlineData("localhost:8080/team/model", "localhost:8080", "team", "model", "latest")]
    [InlineData("127.0.0.1:11434/library/tiny_model:q4_K_M", "127.0.0.1:11434", "library", "tiny_model", "q4_K_M")]
    [InlineData("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "hf.co", "bartowski", "Llama-3.2-1B-Instruct-GGUF", "Q4_K_M")]
    [InlineData("hf.co/TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF", "hf.co", "TheBloke", "TinyLlama-1.1B-Chat-v1.0-GGUF", "latest")]
    [InlineData("_private/_x", "registry.ollama.ai", "_private", "_x", "latest")]
    public void Parses_with_Ollamas_defaults(string text, string host, string ns, string model, string tag)
    {
        ModelName n = ModelName.Parse(text);
        Assert.Equal(host, n.Host);
        Assert.Equal(ns, n.Namespace);
        Assert.Equal(model, n.Model);
        Assert.Equal(tag, n.Tag);
        Assert.Equal(n, ModelName.Parse(n.ToString()));
        Assert.Equal(n, ModelName.Parse(n.DisplayShortest()));
    }

    [Fact]
    public void Shortest_display_drops_default_host_and_namespace()
    {
        Assert.Equal("llama3:latest", ModelName.Parse("llama3").DisplayShortest());
        Assert.Equal("me/llama3:latest", ModelName.Parse("me/llama3").DisplayShortest());
        Assert.Equal("hf.co/a/b:Q8_0", ModelName.Parse("hf.co/a/b:Q8_0").DisplayShortest());
        Assert.Equal("registry.ollama.ai/library/x:latest", ModelName.Parse("x").ToString());
    }

    [Fact]
    public void Names_compare_case_insensitively_and_keep_their_case()
    {
        ModelName a = ModelName.Parse("Mistral:Latest");
        Assert.Equal(ModelName.Parse("mistral"), a);
        Assert.Equal(ModelName.Parse("mistral").GetHashCode(), a.GetHashCode());
        Assert.Equal("Mistral", a.Model);
    }

    [Theory]
    [InlineData("", "empty model name")]
    [InlineData("..", "must start with a letter, digit or '_'")]
    [InlineData("../x", "must start with a letter, digit or '_'")]
    [InlineData("../../etc/passwd", "'/'-separated parts")]
    [InlineData("a/../b", "must start with a letter, digit or '_'")]
    [InlineData("ns/..", "must start with a letter, digit or '_'")]
    [InlineData("model:..", "must start with a letter, digit or '_'")]
    [InlineData("model:../../x", "bad port")]
    [InlineData("x/y/z/w/v", "'/'-separated parts")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("/model", "absolute path")]
    [InlineData("a..b", "contains \"..\"")]
    [InlineData("host/ns/a..b:c", "contains \"..\"")]
    [InlineData("model:t..x", "contains \"..\"")]
    [InlineData("..\\..\\windows", "a backslash")]
    [InlineData("C:\\models\\x", "a backslash")]
    [InlineData("a\\b", "a backslash")]
    [InlineData("model\0.gguf", "a NUL character")]
    [InlineData("mo del", "a space")]
    [InlineData("model\n", "control character U+000A")]
    [InlineData("mødel", "'ø'")]
    [InlineData("model@sha256:abc", "'@'")]
    [InlineData("model+build", "'+'")]
    [InlineData("model:", "no tag after it")]
    [InlineData("ns/", "empty model")]
    [InlineData("/", "absolute path")]
    [InlineData("a//b", "empty namespace")]
    [InlineData("//x", "absolute path")]
    [InlineData(".hidden", "must start with a letter, digit or '_'")]
    [InlineData("-flag", "must start with a letter, digit or '_'")]
    [InlineData("my.ns/model", "namespace \"my.ns\" may not contain '.'")]
    [InlineData("hf.co/model", "may not contain '.'")]
    [InlineData("https://hf.co/a/b", "URL scheme")]
    [InlineData("host:99999/ns/m", "bad port")]
    [InlineData("host:/ns/m", "bad port")]
    [InlineData("ho..st/ns/m", "not a valid host name")]
    [InlineData("-host/ns/m", "not a valid host name")]
    [InlineData(":tag", "empty model")]
    public void Rejects_bad_names_with_a_reason(string text, string reason)
    {
        Assert.False(ModelName.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error);
        HubException e = Assert.Throws<HubException>(() => ModelName.Parse(text));
        Assert.Equal(error, e.Message);
        Assert.DoesNotContain('\0', e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Rejects_parts_that_are_too_long()
    {
        Assert.Contains("at most 80", Error(new string('m', 81)));
        Assert.Contains("at most 80", Error("m:" + new string('t', 81)));
        Assert.Contains("at most 80", Error(new string('n', 81) + "/m"));
        Assert.True(ModelName.TryParse(new string('m', 80), out _));
        Assert.True(ModelName.TryParse("hf.co/o/" + new string('r', 96), out _));
        Assert.Contains("at most 96", Error("hf.co/o/" + new string('r', 97)));
        Assert.Contains("characters; at most", Error(new string('a', 10_000)));
        Assert.Contains("1-63 characters", Error(new string('h', 64) + ".com/n/m"));
    }

    [Fact]
    public void Every_valid_name_maps_to_four_plain_path_segments()
    {
        string[] names = ["x", "a/b", "h.io/a/b:c", "localhost:1/a/b:c.d", "hf.co/o/r:Q4_K_M"];
        foreach (string s in names)
        {
            string[] segments = ModelName.Parse(s).PathSegments();
            Assert.Equal(4, segments.Length);
            foreach (string seg in segments)
            {
                Assert.NotEqual("..", seg);
                Assert.NotEqual(".", seg);
                Assert.DoesNotContain('/', seg);
                Assert.DoesNotContain('\\', seg);
                Assert.False(Path.IsPathRooted(seg));
            }
        }
    }

    private static string Error(string text)
    {
        Assert.False(ModelName.TryParse(text, out _, out string? error));
        return error;
    }
}
