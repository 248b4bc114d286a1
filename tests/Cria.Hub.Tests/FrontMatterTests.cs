using Cria.Hub.Cards;

namespace Cria.Hub.Tests;

public sealed class FrontMatterTests
{
    [Fact]
    public void Written_front_matter_reads_back_the_same_strings()
    {
        string[] awkward = ["mit", "apache-2.0", "yes", "No", "null", "~", "3.1", "0x10", "-dash", ": colon", "a: b", "# hash", "a #b", "quote \" inside", "back\\slash",
            "new\nline", "tab\tx", " lead", "trail ", "", "[flow]", "{map}", "&anchor", "*alias", "!tag", "|", ">", "'single'", "émoji 🦙", "\u0001ctl", "\u2028sep"];
        string text = FrontMatter.Write(
            [new("license", "llama3.1"), new("base_model", "registry.ollama.ai/library/llama3:latest"), new("tags", awkward), new("skipped", null), new("empty", Array.Empty<string>())],
            "# Title\n\nBody text.\n");
        FrontMatterDocument d = FrontMatter.Read(text);
        Assert.True(d.HasFrontMatter);
        Assert.Equal("llama3.1", d.Scalar("license"));
        Assert.Equal("registry.ollama.ai/library/llama3:latest", d.Scalar("base_model"));
        Assert.Equal(awkward, d.List("tags"));
        Assert.False(d.Values.ContainsKey("skipped"));
        Assert.Empty(d.List("empty"));
        Assert.Equal("# Title\n\nBody text.\n", d.Body);
        foreach (string s in awkward)
        {
            Assert.Equal(s, FrontMatter.Read(FrontMatter.Write([new("k", s)], "")).Scalar("k"));
        }
    }

    [Fact]
    public void Reads_a_real_hugging_face_card()
    {
        const string card = """
            ---
            language:
            - en
            - de
            license: llama3.2
            library_name: transformers
            base_model: meta-llama/Llama-3.2-1B-Instruct   # the instruct model
            base_model_relation: quantized
            tags: [gguf, "llama-3", 'q4_k_m']
            extra_gated_fields:
              First Name: text
              Country: country
            widget:
              - example_title: Hello
                messages:
                  - role: user
            description: >
              A folded
              description.
            pipeline_tag: text-generation
            ...
            # Llama 3.2 1B Instruct GGUF
            """;
        FrontMatterDocument d = FrontMatter.Read(card);
        Assert.Equal(["en", "de"], d.List("language"));
        Assert.Equal("llama3.2", d.Scalar("license"));
        Assert.Equal("meta-llama/Llama-3.2-1B-Instruct", d.Scalar("base_model"));
        Assert.Equal("quantized", d.Scalar("base_model_relation"));
        Assert.Equal(["gguf", "llama-3", "q4_k_m"], d.List("tags"));
        Assert.False(d.Values.ContainsKey("extra_gated_fields"));
        Assert.Equal("A folded description.", d.Scalar("description"));
        Assert.Equal("text-generation", d.Scalar("pipeline_tag"));
        Assert.Equal("# Llama 3.2 1B Instruct GGUF", d.Body);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no front matter")]
    [InlineData("---")]
    [InlineData("---\nlicense: mit\n")]
    [InlineData("--- \nkey: \"unterminated\n---\n")]
    public void Incomplete_front_matter_is_body(string text)
    {
        FrontMatterDocument d = FrontMatter.Read(text);
        if (!d.HasFrontMatter)
        {
            Assert.Equal(text, d.Body);
        }
    }

    [Fact]
    public void Hostile_input_never_throws()
    {
        var rng = new Random(7);
        string alphabet = "-:#'\"[]{}|>&*!\\\n \tabcxyz0123\u0000\u00e9\ud83e\udd99";
        for (int n = 0; n < 5000; n++)
        {
            var chars = new char[rng.Next(0, 120)];
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[rng.Next(alphabet.Length)];
            }
            string text = "---\n" + new string(chars) + (rng.Next(2) == 0 ? "\n---\nbody" : "");
            FrontMatterDocument d = FrontMatter.Read(text);
            Assert.NotNull(d.Body);
            Assert.All(d.Values, kv => Assert.NotNull(kv.Value));
        }
        FrontMatter.Read("---\n" + new string('-', 3 << 20) + "\n---\n");
        FrontMatter.Read("---\n" + string.Concat(Enumerable.Repeat("k: v\n", 50_000)) + "---\n");
        FrontMatter.Read("---\nk: \"\\u12\"\nk2: \"\\UFFFFFFFF\"\nk3: \"\\x\"\n---\n");
    }

    [Theory]
    [InlineData("MIT", "mit")]
    [InlineData("apache-2.0", "apache-2.0")]
    [InlineData("Apache2", "apache-2.0")]
    [InlineData("llama3.1", "llama3.1")]
    [InlineData("                                 Apache License\n                           Version 2.0, January 2004", "apache-2.0")]
    [InlineData("MIT License\n\nCopyright (c) 2023\n\nPermission is hereby granted, free of charge, to any person", "mit")]
    [InlineData("LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024", "llama3.1")]
    [InlineData("META LLAMA 3 COMMUNITY LICENSE AGREEMENT\nMeta Llama 3 Version Release Date: April 18, 2024", "llama3")]
    [InlineData("LLAMA 2 COMMUNITY LICENSE AGREEMENT\nLlama 2 Version Release Date: July 18, 2023", "llama2")]
    [InlineData("Gemma Terms of Use\n\nLast modified: February 21, 2024", "gemma")]
    [InlineData("Some bespoke terms nobody has seen.", "other")]
    [InlineData("", "")]
    public void Licence_short_names(string text, string id) => Assert.Equal(id, LicenseNames.ShortName(text));
}
