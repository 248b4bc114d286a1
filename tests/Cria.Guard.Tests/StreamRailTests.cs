using Cria.Guard.Policy;
using Cria.Guard.Rails;

namespace Cria.Guard.Tests;

/// <summary>The hold-back window: what streams out equals the whole text's redaction, and nothing blocked is ever released.</summary>
public sealed class StreamRailTests
{
    private const string Text = "Dear team, the report is ready. Mail it to alice.smith@example.com and cc bob@example.org, " +
        "then call +1 415 555 2671. The card on file is 4111 1111 1111 1111 and the rest of this sentence is filler text " +
        "that goes on for a while so the window moves well past every finding. Thanks, and see you on Monday.";

    private static IEnumerable<string> Pieces(string text, int size)
    {
        for (int i = 0; i < text.Length; i += size)
        {
            yield return text.Substring(i, Math.Min(size, text.Length - i));
        }
    }

    [Theory]
    [InlineData(1, 32)]
    [InlineData(3, 32)]
    [InlineData(7, 128)]
    [InlineData(1000, 64)]
    public void Streamed_redaction_equals_whole_redaction(int pieceSize, int holdBack)
    {
        Rail rail = GuardConfig.Parse("""{"output": [{"detector": "pii", "action": "redact"}]}""").Default.Output;
        string whole = rail.Evaluate(Text, new Redactor()).Text;
        var stream = new StreamRail(rail, new Redactor(), holdBack);
        string streamed = string.Concat(Pieces(Text, pieceSize).Select(stream.Push)) + stream.Finish();
        Assert.Equal(whole, streamed);
        Assert.Contains("[EMAIL_2]", streamed, StringComparison.Ordinal);
        Assert.Null(stream.Blocked);
        Assert.Equal(4, stream.Findings.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(50)]
    public void A_blocked_span_is_never_released(int pieceSize)
    {
        Rail rail = GuardConfig.Parse("""{"output": [{"detector": "pii", "action": "block", "types": ["email"]}]}""").Default.Output;
        var stream = new StreamRail(rail, new Redactor(), 32);
        string sent = "";
        foreach (string piece in Pieces(Text, pieceSize))
        {
            sent += stream.Push(piece);
        }
        sent += stream.Finish();
        Assert.NotNull(stream.Blocked);
        Assert.Equal("email", stream.Blocked!.Value.Finding.Type);
        Assert.DoesNotContain("@", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", sent, StringComparison.Ordinal);
        Assert.StartsWith(sent, Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_without_findings_comes_out_unchanged_and_held_back_at_most_the_window()
    {
        Rail rail = GuardConfig.Parse("""{"output": [{"detector": "secrets", "action": "block"}]}""").Default.Output;
        var stream = new StreamRail(rail, new Redactor(), 40);
        string sent = "";
        foreach (string piece in Pieces(Text, 2))
        {
            sent += stream.Push(piece);
            Assert.True(stream.Length - sent.Length < 40 + 20 + 2, $"held {stream.Length - sent.Length}");
        }
        Assert.Equal(Text, sent + stream.Finish());
    }
}
