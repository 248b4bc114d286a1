using Cria.Core.Inference;

namespace Cria.Core.Tests.Sampling;

public sealed class StopMatcherTests
{
    private static (string Text, bool Stopped) Feed(string[] stops, params string[] pieces)
    {
        var m = new StopMatcher(stops);
        string text = "";
        foreach (string p in pieces)
        {
            text += m.Push(p);
            if (m.Stopped)
            {
                return (text, true);
            }
        }
        return (text + m.Flush(), false);
    }

    [Fact]
    public void Stop_spanning_three_tokens_is_found_and_dropped() =>
        Assert.Equal(("Hello ", true), Feed(["<|end|>"], "Hello <", "|e", "nd", "|> more"));

    [Fact]
    public void Partial_match_is_released_when_ruled_out() =>
        Assert.Equal(("a <|en b", false), Feed(["<|end|>"], "a <|", "en", " b"));

    [Fact]
    public void Held_tail_is_released_at_the_end() =>
        Assert.Equal(("abc <|", false), Feed(["<|end|>"], "abc <|"));

    [Fact]
    public void Earliest_of_several_stops_wins() =>
        Assert.Equal(("x", true), Feed(["yz", "\n"], "x\nyz"));

    [Fact]
    public void Nothing_is_held_back_without_stops()
    {
        var m = new StopMatcher(null);
        Assert.Equal("<|", m.Push("<|"));
    }

    [Fact]
    public void Text_is_never_emitted_ahead_of_a_possible_stop()
    {
        var m = new StopMatcher(["STOP"]);
        Assert.Equal("go ", m.Push("go S"));
        Assert.Equal("", m.Push("T"));
        Assert.Equal("", m.Push("OP!"));
        Assert.True(m.Stopped);
        Assert.Equal("STOP", m.MatchedStop);
    }
}
