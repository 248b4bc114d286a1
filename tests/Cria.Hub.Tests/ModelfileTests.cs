using Cria.Hub.Modelfiles;

namespace Cria.Hub.Tests;

/// <summary>Modelfiles as people write them for Ollama (examples after ollama/ollama docs/modelfile.md and library models).</summary>
public sealed class ModelfileTests
{
    internal const string Llama3 = """"
        FROM ./stories260K.gguf
        TEMPLATE """{{ if .System }}<|start_header_id|>system<|end_header_id|>

        {{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>

        {{ .Prompt }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

        {{ .Response }}<|eot_id|>"""
        PARAMETER stop "<|start_header_id|>"
        PARAMETER stop "<|end_header_id|>"
        PARAMETER stop "<|eot_id|>"
        PARAMETER num_keep 24
        LICENSE """LLAMA 3 COMMUNITY LICENSE AGREEMENT
        Meta Llama 3 Version Release Date: April 18, 2024
        "Agreement" means the terms and conditions for use..."""
        """";

    internal const string Mario = """"
        FROM llama3.2

        # set the temperature to 1 [higher is more creative, lower is more coherent]
        PARAMETER temperature 1

        # set the system message
        SYSTEM """
        You are Mario from Super Mario Bros. Answer as Mario, the assistant, only.
        """
        """";

    internal const string ChatMl = """"
        FROM qwen2.5:0.5b
        TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}
        {{ .Content }}<|im_end|>
        {{ end }}<|im_start|>assistant
        """
        PARAMETER stop <|im_start|>
        PARAMETER stop <|im_end|>
        PARAMETER num_ctx 4096
        PARAMETER repeat_penalty 1.1
        MESSAGE user Is Toronto in Canada?
        MESSAGE assistant yes
        MESSAGE user Is Sacramento in Canada?
        MESSAGE assistant no
        """";

    [Fact]
    public void A_llama3_modelfile_reads_as_Ollama_reads_it()
    {
        Modelfile m = Modelfile.Parse(Llama3);
        Assert.Equal("./stories260K.gguf", m.From.Value);
        ModelfileInstruction template = m.Instructions.Single(i => i.Verb == ModelfileVerb.Template);
        Assert.Equal(2, template.Line);
        Assert.StartsWith("{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}", template.Value);
        Assert.EndsWith("{{ .Response }}<|eot_id|>", template.Value);
        Assert.Equal(["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
            m.Instructions.Where(i => i.Key == "stop").Select(i => i.Value));
        Assert.Equal(new[] { 9, 10, 11, 12 }, m.Instructions.Where(i => i.Verb == ModelfileVerb.Parameter).Select(i => i.Line));
        string license = m.Instructions.Single(i => i.Verb == ModelfileVerb.License).Value;
        Assert.Contains("\"Agreement\" means", license); // quotes inside a """ block
        Assert.Equal(13, m.Instructions.Single(i => i.Verb == ModelfileVerb.License).Line);
        Assert.Empty(m.Warnings);
    }

    [Fact]
    public void The_Mario_example_keeps_its_newlines_and_skips_comments()
    {
        Modelfile m = Modelfile.Parse(Mario);
        Assert.Equal(["llama3.2", "1", "\nYou are Mario from Super Mario Bros. Answer as Mario, the assistant, only.\n"], m.Instructions.Select(i => i.Value));
        Assert.Equal([1, 4, 7], m.Instructions.Select(i => i.Line));
    }

    [Fact]
    public void A_chatml_modelfile_with_messages()
    {
        Modelfile m = Modelfile.Parse(ChatMl);
        Assert.Equal("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
            m.Instructions.Single(i => i.Verb == ModelfileVerb.Template).Value);
        Assert.Equal(["user", "assistant", "user", "assistant"], m.Instructions.Where(i => i.Verb == ModelfileVerb.Message).Select(i => i.Key));
        Assert.Equal("Is Sacramento in Canada?", m.Instructions.Where(i => i.Verb == ModelfileVerb.Message).ElementAt(2).Value);
        Assert.Equal("<|im_end|>", m.Instructions.Where(i => i.Key == "stop").Last().Value);
    }

    [Fact]
    public void Instructions_are_case_insensitive_and_crlf_tabs_and_a_bom_are_fine()
    {
        Modelfile m = Modelfile.Parse("\uFEFF# comment\r\nfrom\tbase-model:7b\r\nParameter\tTemperature  0.5  \r\nsystem \"be brief\"\r\nmessage User hello there\r\nlicence mit\r\n");
        Assert.Equal(
            [(ModelfileVerb.From, null, "base-model:7b", 2), (ModelfileVerb.Parameter, "temperature", "0.5", 3), (ModelfileVerb.System, null, "be brief", 4),
             (ModelfileVerb.Message, "user", "hello there", 5), (ModelfileVerb.License, null, "mit", 6)],
            m.Instructions.Select(i => (i.Verb, i.Key, i.Value, i.Line)));
    }

    [Fact]
    public void Single_quoted_values_may_span_lines_and_empty_quotes_are_empty()
    {
        Modelfile m = Modelfile.Parse("FROM x\nSYSTEM \"line one\nline two\"\nTEMPLATE \"\"\nPARAMETER stop \"  padded \"\n");
        Assert.Equal(["x", "line one\nline two", "", "  padded "], m.Instructions.Select(i => i.Value));
        Assert.Equal([1, 2, 4, 5], m.Instructions.Select(i => i.Line));
    }

    [Fact]
    public void Deprecated_parameters_and_ollama_only_instructions_are_warnings()
    {
        Modelfile m = Modelfile.Parse("FROM x\nPARAMETER mirostat 2\nPARAMETER penalize_newline false\nREQUIRES 0.6.0\nRENDERER qwen3\n");
        Assert.Single(m.Instructions);
        Assert.Equal(4, m.Warnings.Count);
        Assert.Contains("Modelfile:2: parameter mirostat is deprecated", m.Warnings[0]);
        Assert.Contains("Modelfile:4: REQUIRES is an Ollama-only instruction", m.Warnings[2]);
    }

    [Theory]
    [InlineData("PARAMETER temperature 0.7\n", 0, "no FROM instruction")]
    [InlineData("FROM x\n\nFORM y\n", 3, "unknown instruction \"FORM\"")]
    [InlineData("FROM x\nPARAMETER temprature 0.7\n", 2, "unknown parameter \"temprature\"")]
    [InlineData("FROM x\nPARAMETER temperature hot\n", 2, "temperature must be a finite number, got \"hot\"")]
    [InlineData("FROM x\nPARAMETER temperature NaN\n", 2, "finite number")]
    [InlineData("FROM x\nPARAMETER top_k 4.5\n", 2, "top_k must be an integer")]
    [InlineData("FROM x\nPARAMETER top_p 1.5\n", 2, "top_p must be between 0 and 1")]
    [InlineData("FROM x\nPARAMETER num_ctx -5\n", 2, "num_ctx must be between 0")]
    [InlineData("FROM x\nPARAMETER use_mmap maybe\n", 2, "use_mmap must be true or false")]
    [InlineData("FROM x\nPARAMETER temperature\n", 2, "PARAMETER temperature needs a value")]
    [InlineData("FROM x\nPARAMETER\n", 2, "PARAMETER needs a name and a value")]
    [InlineData("FROM x\nPARAMETER te-mp 1\n", 2, "unexpected '-' after PARAMETER te")]
    [InlineData("FROM x\nTEMPLATE \"\"\"{{ .Prompt }}\n\nPARAMETER stop x\n", 2, "TEMPLATE: the \"\"\" opened here is never closed")]
    [InlineData("FROM x\nSYSTEM \"unclosed\n", 2, "SYSTEM: the \" opened here is never closed")]
    [InlineData("FROM x\nMESSAGE robot beep\n", 2, "MESSAGE role must be system, user or assistant, got \"robot\"")]
    [InlineData("FROM x\nMESSAGE user\n", 2, "MESSAGE user needs a message")]
    [InlineData("FROM x\nFROM y\n", 2, "a second FROM")]
    [InlineData("FROM\n", 1, "FROM needs a value")]
    [InlineData("FROM   \n", 1, "FROM needs a value")]
    [InlineData("FROM \"\"\n", 1, "FROM needs a model name or a file path")]
    [InlineData("FROM x\nSYSTEM\n", 2, "SYSTEM needs a value")]
    [InlineData("FROM x\n  \"loose\"\n", 2, "unexpected '\"'; expected an instruction")]
    [InlineData("FROM x\nSYSTEM hi\u0000there\n", 2, "control character U+0000")]
    [InlineData("FROM x\nDRAFT ./small.gguf\n", 2, "DRAFT")]
    [InlineData("FROM x\nFROM: y\n", 2, "unexpected ':' after FROM")]
    public void Errors_name_the_line_and_the_problem(string text, int line, string problem)
    {
        ModelfileException e = Assert.Throws<ModelfileException>(() => Modelfile.Parse(text, "models/Modelfile"));
        Assert.Equal(line, e.Line);
        Assert.Contains(problem, e.Message);
        Assert.StartsWith(line > 0 ? $"models/Modelfile:{line}: " : "models/Modelfile: ", e.Message);
    }

    [Fact]
    public void Rendering_parses_back_to_the_same_instructions()
    {
        foreach (string text in new[] { Llama3, Mario, ChatMl, "FROM x\nSYSTEM \"  lead and trail  \"\nLICENSE \"\"\"has \"quotes\" and\nlines\"\"\"\nSYSTEM \"ends with quote\"\"\"\"\n" })
        {
            Modelfile m = Modelfile.Parse(text);
            Modelfile back = Modelfile.Parse(m.ToString());
            Assert.Equal(m.Instructions.Select(i => (i.Verb, i.Key, i.Value)), back.Instructions.Select(i => (i.Verb, i.Key, i.Value)));
        }
    }

    [Fact]
    public void Utf16_modelfiles_from_powershell_are_read()
    {
        string dir = Directory.CreateTempSubdirectory("cria-mf-").FullName;
        try
        {
            string path = Path.Combine(dir, "Modelfile");
            File.WriteAllText(path, "FROM llama3\nSYSTEM Olá\n", new System.Text.UnicodeEncoding(false, true));
            Assert.Equal("Olá", Modelfile.Load(path).Instructions[1].Value);
            File.WriteAllBytes(path, [0x46, 0x52, 0x4F, 0x4D, 0x20, 0xC3, 0x28, 0x0A]);
            Assert.Contains("not valid UTF-8", Assert.Throws<ModelfileException>(() => Modelfile.Load(path)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Hostile_input_gives_modelfile_errors_not_crashes()
    {
        var rng = new Random(12345);
        string alphabet = "FROMPARETLSYGIC \t\n\"#:_-0123456789abcxyz\r";
        for (int n = 0; n < 3000; n++)
        {
            var chars = new char[rng.Next(0, 80)];
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[rng.Next(alphabet.Length)];
            }
            string text = (rng.Next(2) == 0 ? "FROM x\n" : "") + new string(chars);
            try
            {
                Modelfile m = Modelfile.Parse(text);
                Assert.Contains(m.Instructions, i => i.Verb == ModelfileVerb.From);
            }
            catch (ModelfileException e)
            {
                Assert.StartsWith("Modelfile", e.Message);
            }
        }
    }
}
