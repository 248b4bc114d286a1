using Cria.Core.Training;
using Cria.Core.Training.Data;

namespace Cria.Core.Tests.Training;

/// <summary>
/// Training data: the three JSONL shapes, malformed records named by line, which tokens a record
/// learns (assistant turns through the chat template, the completion, all text) and packing.
/// </summary>
public sealed class DataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-data-").FullName;
    private readonly BaseModel _model = BaseModel.Load(RepoRoot.Path("models/stories260K.gguf"));

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Write(params string[] lines)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Theory]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": 5}", 2, "\"text\" must be a string, got a number")]
    [InlineData("{\"text\": \"ok\"}\n\n{\"prompt\": \"a\"}", 3, "\"prompt\" needs a \"completion\"")]
    [InlineData("{\"text\": \"ok\"", 1, "not valid JSON")]
    [InlineData("[1, 2]", 1, "expected a JSON object, got an array")]
    [InlineData("{\"id\": 3}", 1, "expected \"messages\", \"prompt\" and \"completion\", or \"text\"")]
    [InlineData("{\"text\": \"a\", \"prompt\": \"b\", \"completion\": \"c\"}", 1, "not several")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", 1, "no assistant message")]
    [InlineData("{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", 1, "role \"wizard\"")]
    [InlineData("{\"messages\": [{\"role\": \"user\"}]}", 1, "messages[0] needs a string \"content\"")]
    [InlineData("{\"messages\": []}", 1, "non-empty array")]
    [InlineData("{\"text\": \"\"}", 1, "\"text\" is empty")]
    public void Malformed_records_are_errors_naming_file_and_line(string content, int line, string problem)
    {
        string path = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(path, content);
        var e = Assert.Throws<DatasetException>(() => JsonlReader.Read(path));
        Assert.StartsWith($"{path}:{line}: ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Equal(line, e.Line);
    }

    [Fact]
    public void An_empty_file_is_an_error()
    {
        Assert.Contains("no records", Assert.Throws<DatasetException>(() => JsonlReader.Read(Write("", "  "))).Message);
    }

    [Fact]
    public void Text_learns_every_token_and_ends_with_EOS()
    {
        var enc = new ExampleEncoder(_model.Tokenizer, null);
        TokenizedExample e = enc.Encode(JsonlReader.Read(Write("{\"text\": \"Lily had a cat.\"}"))[0], "x");
        Assert.Equal(_model.Tokenizer.BosId, e.Tokens[0]);
        Assert.Equal(_model.Tokenizer.EosId, e.Tokens[^1]);
        Assert.Equal(e.Tokens.Length - 1, e.TrainableCount);
    }

    [Fact]
    public void Prompt_completion_learns_the_completion_only()
    {
        var enc = new ExampleEncoder(_model.Tokenizer, null);
        TokenizedExample e = enc.Encode(JsonlReader.Read(Write("{\"prompt\": \"Once upon a time\", \"completion\": \", there was a dog.\"}"))[0], "x");
        int[] prompt = _model.Tokenizer.Encode("Once upon a time", addSpecial: true);
        Assert.Equal(prompt, e.Tokens[..prompt.Length]);
        Assert.All(e.Trainable[..prompt.Length], b => Assert.False(b));
        Assert.All(e.Trainable[prompt.Length..], b => Assert.True(b));
        Assert.Equal(_model.Tokenizer.EosId, e.Tokens[^1]);
        string learned = _model.Tokenizer.Decode(e.Tokens[prompt.Length..^1]);
        Assert.Equal(", there was a dog.", learned);
    }

    [Fact]
    public void A_conversation_learns_its_assistant_turns_through_the_template()
    {
        // ChatML (stories260K has no template): the learned text is each assistant reply and its end marker.
        var enc = new ExampleEncoder(_model.Tokenizer, null);
        Assert.True(enc.UsesDefaultTemplate);
        string line = "{\"messages\": [{\"role\": \"system\", \"content\": \"Be kind.\"}, {\"role\": \"user\", \"content\": \"Hi\"},"
            + " {\"role\": \"assistant\", \"content\": \"Hello there\"}, {\"role\": \"user\", \"content\": \"Bye\"}, {\"role\": \"assistant\", \"content\": \"See you\"}]}";
        TokenizedExample e = enc.Encode(JsonlReader.Read(Write(line))[0], "x");
        string learned = string.Concat(Spans(e).Select(s => "[" + _model.Tokenizer.Decode(s) + "]"));
        Assert.Equal("[Hello there<|im_end|>\n][See you<|im_end|>\n]", learned.Replace("[ ", "["));
    }

    [Fact]
    public void A_template_that_ends_turns_with_EOS_learns_the_EOS()
    {
        // A Llama-2-style template: the assistant turn ends with eos_token, which must be learned.
        const string template = "{% for m in messages %}{% if m['role'] == 'user' %}{{ bos_token + '[INST] ' + m['content'] + ' [/INST]' }}"
            + "{% else %}{{ ' ' + m['content'] + eos_token }}{% endif %}{% endfor %}";
        var enc = new ExampleEncoder(_model.Tokenizer, template);
        string line = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}]}";
        TokenizedExample e = enc.Encode(JsonlReader.Read(Write(line))[0], "x");
        Assert.Equal(_model.Tokenizer.BosId, e.Tokens[0]);
        Assert.Equal(1, e.Tokens.Count(t => t == _model.Tokenizer.BosId));
        Assert.Equal(_model.Tokenizer.EosId, e.Tokens[^1]);
        Assert.True(e.Trainable[^1]);
        int[] span = Spans(e).Single();
        Assert.Equal("Hello", _model.Tokenizer.Decode(span[..^1]).Trim());
    }

    private static List<int[]> Spans(TokenizedExample e)
    {
        var spans = new List<int[]>();
        for (int i = 0; i < e.Tokens.Length;)
        {
            if (!e.Trainable[i])
            {
                i++;
                continue;
            }
            int j = i;
            while (j < e.Tokens.Length && e.Trainable[j])
            {
                j++;
            }
            spans.Add(e.Tokens[i..j]);
            i = j;
        }
        return spans;
    }

    [Fact]
    public void Packing_fills_windows_in_order_truncates_long_examples_and_counts()
    {
        static TokenizedExample Ex(int n, int line) => new([.. Enumerable.Range(1, n)], [.. Enumerable.Range(0, n).Select(i => i > 0)], line);
        PackedDataset p = Packer.Pack([Ex(5, 1), Ex(4, 2), Ex(3, 3), Ex(12, 4), Ex(1, 5)], 10);
        DatasetSummary s = p.Summary;
        Assert.Equal(5, s.Examples);
        Assert.Equal(1, s.Truncated);  // the 12-token example is cut to 10
        Assert.Equal(1, s.Dropped);    // the 1-token example has nothing to predict
        Assert.Equal(3, s.Windows);    // [5+4] [3] [10]
        Assert.Equal(5 + 4 + 3 + 10, s.Tokens);
        Assert.Equal(4 + 3 + 2 + 9, s.TrainableTokens);
        TrainingWindow w = p.Windows[0];
        Assert.Equal([0, 0, 0, 0, 0, 5, 5, 5, 5], w.SegmentStart);
        Assert.Equal(-1, w.Targets[4]); // the last token of an example predicts nothing in the next one
        Assert.Equal(2, w.Targets[5]);
        Assert.Equal(p.Fingerprint(), Packer.Pack([Ex(5, 1), Ex(4, 2), Ex(3, 3), Ex(12, 4), Ex(1, 5)], 10).Fingerprint());
        Assert.NotEqual(p.Fingerprint(), Packer.Pack([Ex(5, 1), Ex(4, 2), Ex(3, 3), Ex(12, 4)], 11).Fingerprint());
    }

    [Fact]
    public void Loss_curve_files_are_written_beside_the_adapter()
    {
        var log = new LossLog();
        log.AddEval(0, 3.0, 0);
        log.AddTrain(1, 2.5, 1e-3);
        log.AddTrain(2, 2.0, 5e-4);
        log.AddEval(2, 1.9, 5e-4);
        (string csv, string svg) = log.WriteFiles(LossLog.BasePathFor(Path.Combine(_dir, "a.gguf")), "test & <run>");
        Assert.Equal(Path.Combine(_dir, "a.loss.csv"), csv);
        Assert.Equal("step,train_loss,eval_loss,lr\n0,,3.000000,0\n1,2.500000,,0.001\n2,2.000000,1.900000,0.0005\n", File.ReadAllText(csv));
        string text = File.ReadAllText(svg);
        Assert.StartsWith("<svg", text);
        Assert.Contains("test &amp; &lt;run&gt;", text);
        Assert.Contains("<polyline", text);
        System.Xml.Linq.XDocument.Parse(text); // well-formed
    }
}
