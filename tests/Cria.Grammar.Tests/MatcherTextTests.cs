using System.Text;

namespace Cria.Grammar.Tests;

/// <summary>
/// Texts fed to grammars one character at a time: every prefix up to the first wrong character is accepted,
/// that character is rejected, and a whole sentence can end. The naive recognizer must agree at every prefix.
/// </summary>
public sealed class MatcherTextTests
{
    private const string Arithmetic = """
        root  ::= (expr "=" ws term "\n")+
        expr  ::= term ([-+*/] term)*
        term  ::= ident | num | "(" ws expr ")" ws
        ident ::= [a-z] [a-z0-9_]* ws
        num   ::= [0-9]+ ws
        ws    ::= [ \t\n]*
        """;

    private const string Json = """
        root   ::= object
        value  ::= object | array | string | number | ("true" | "false" | "null") ws
        object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
        array  ::= "[" ws ( value ("," ws value)* )? "]" ws
        string ::= "\"" ( [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
        number ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? ws
        ws     ::= "" | " " | "\n" [ \t]{0,20}
        """;

    private const string List = """
        root ::= item+
        item ::= "- " [^\r\n\x0b\x0c\u0085\u2028\u2029]+ "\n"
        """;

    private const string Bounded = """
        root ::= [0-9]{2,4} "x" ("ab"){1,2}
        """;

    private const string Chess = """
        root ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")+
        move ::= (pawn | nonpawn | castle) [+#]?
        pawn ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
        nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
        castle ::= "O-O" "-O"?
        """;

    [Theory]
    [InlineData(Arithmetic, "1+2=3\n", -1)]
    [InlineData(Arithmetic, "(x +y1)*2= z\nq=1\n", -1)]
    [InlineData(Arithmetic, "1+*2", 2)]
    [InlineData(Arithmetic, "a=", -2)]
    [InlineData(Json, "{\"a\": [1, 2.5, {\"b\": null}], \"c\": \"\\u00e9\\n\"}", -1)]
    [InlineData(Json, "{\"a\" 1}", 5)]
    [InlineData(Json, "{\"a\": tru }", 9)]
    [InlineData(Json, "{\"a\": 01}", 7)]
    [InlineData(Json, "{\"a\": \"\\x\"}", 8)]
    [InlineData(Json, "{\"emoji\": \"😀\", \"k\": [true, false]}", -1)]
    [InlineData(Json, "[1]", 0)]
    [InlineData(List, "- milk\n- eggs 🥚\n", -1)]
    [InlineData(List, "- milk\n-eggs\n", 8)]
    [InlineData(List, "- \n", 2)]
    [InlineData(Bounded, "12xab", -1)]
    [InlineData(Bounded, "1234xabab", -1)]
    [InlineData(Bounded, "12345x", 4)]
    [InlineData(Bounded, "1x", 1)]
    [InlineData(Bounded, "12xababab", 7)]
    [InlineData(Bounded, "12xa", -2)]
    [InlineData(Chess, "1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n4. O-O Nxe4+\n", -1)]
    [InlineData(Chess, "1. e4 e9\n", 7)]
    public void Characters_are_accepted_up_to_the_first_wrong_one(string gbnf, string text, int firstBad)
    {
        // firstBad: index (in UTF-16 units) of the first rejected character; -1 the text is a sentence; -2 a proper prefix
        CompiledGrammar g = CompiledGrammar.Parse(gbnf);
        var naive = new NaiveRecognizer(g);
        int bad = -1;
        for (int i = 0; i < text.Length; i += char.IsHighSurrogate(text[i]) ? 2 : 1)
        {
            string prefix = text[..(i + (char.IsHighSurrogate(text[i]) ? 2 : 1))];
            bool viable = g.IsPrefix(prefix);
            Assert.Equal(naive.IsViable(Encoding.UTF8.GetBytes(prefix)), viable);
            if (!viable)
            {
                bad = i;
                break;
            }
        }
        if (firstBad >= 0)
        {
            Assert.Equal(firstBad, bad);
        }
        else
        {
            Assert.Equal(-1, bad);
            Assert.Equal(firstBad == -1, g.Matches(text));
            Assert.Equal(naive.Matches(text), g.Matches(text));
        }
    }

    [Fact]
    public void Utf8_split_anywhere_is_handled_byte_by_byte()
    {
        CompiledGrammar g = CompiledGrammar.Parse("root ::= [é-ë] [\\U0001F600-\\U0001F64F]+ [^a]");
        Assert.True(g.Matches("é😀🙏ß"));
        Assert.False(g.Matches("e😀ß"));
        Assert.True(g.IsPrefix("é"));
        Assert.False(g.IsPrefix("ì"));
        Assert.False(g.Matches("é😀"));
        Assert.False(g.Matches("é🚀ß"));
    }

    [Fact]
    public void Matching_goes_on_across_a_dropped_state_cache()
    {
        // 25,000 distinct counter states: more than the automaton caches, so it drops its cache mid-text
        CompiledGrammar g = CompiledGrammar.Parse("root ::= \"a\"{0,10000} \"b\"{0,10000} \"c\"{0,10000}");
        string text = new string('a', 10000) + new string('b', 10000) + new string('c', 5000);
        Assert.True(GrammarLimits.MaxCachedStates < text.Length);
        Assert.True(g.Matches(text));
        Assert.True(g.Matches(text)); // again, with a cache that was dropped
        Assert.False(g.IsPrefix(text + "a"));
        Assert.False(g.IsPrefix(new string('a', 10001)));
        Assert.True(g.Matches(new string('b', 10000)));
    }
}
