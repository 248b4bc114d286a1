namespace Cria.Grammar.Tests;

/// <summary>GBNF syntax (llama.cpp's grammars/README.md) and the errors for bad grammars.</summary>
public sealed class GbnfParserTests
{
    private static GrammarException Fails(string gbnf) => Assert.Throws<GrammarException>(() => CompiledGrammar.Parse(gbnf));

    [Fact]
    public void Parses_llama_cpp_arithmetic_grammar()
    {
        // grammars/arithmetic.gbnf from llama.cpp
        var g = CompiledGrammar.Parse("""
            root  ::= (expr "=" ws term "\n")+
            expr  ::= term ([-+*/] term)*
            term  ::= ident | num | "(" ws expr ")" ws
            ident ::= [a-z] [a-z0-9_]* ws
            num   ::= [0-9]+ ws
            ws    ::= [ \t\n]*
            """);
        Assert.True(g.Matches("1+2=3\n"));
        Assert.True(g.Matches("(a +b)*c= x1\nx=1\n"));
        Assert.False(g.Matches("(a + b)=1\n")); // no space before a term
        Assert.False(g.Matches("1+2=3"));
        Assert.False(g.Matches("1++2=3\n"));
        Assert.True(g.IsPrefix("(a +"));
        Assert.False(g.IsPrefix("(a + "));
    }

    [Fact]
    public void Comments_newlines_in_groups_and_after_bars_are_allowed()
    {
        var g = CompiledGrammar.Parse("""
            # a comment line
            root ::= ( # comment inside a group
                "a"
                | "b" ) tail  # trailing comment
            tail ::= "x" |
                     "y"
            """);
        Assert.True(g.Matches("ax"));
        Assert.True(g.Matches("by"));
        Assert.False(g.Matches("a"));
    }

    [Fact]
    public void Escapes_in_literals_and_classes()
    {
        var g = CompiledGrammar.Parse(@"root ::= ""\x41\u00e9\U0001F600\t\n\r\\\""[\]"" [\x30-\x39\-\]]");
        Assert.True(g.Matches("Aé😀\t\n\r\\\"[]5"));
        Assert.True(g.Matches("Aé😀\t\n\r\\\"[]-"));
        Assert.True(g.Matches("Aé😀\t\n\r\\\"[]]"));
        Assert.False(g.Matches("Aé😀\t\n\r\\\"[]a"));
    }

    [Fact]
    public void Negated_classes_and_any_char()
    {
        var g = CompiledGrammar.Parse("root ::= \"\\\"\" [^\"\\\\]* \"\\\"\" .");
        Assert.True(g.Matches("\"héllo 世界\"x"));
        Assert.True(g.Matches("\"\"\n"));
        Assert.False(g.Matches("\"a\\b\"x"));
        Assert.False(g.Matches("\"ab\""));
    }

    [Theory]
    [InlineData("root ::= \"a\"{3}", "aaa", true)]
    [InlineData("root ::= \"a\"{3}", "aa", false)]
    [InlineData("root ::= \"a\"{3}", "aaaa", false)]
    [InlineData("root ::= \"ab\"{2,3}", "abab", true)]
    [InlineData("root ::= \"ab\"{2,3}", "ababab", true)]
    [InlineData("root ::= \"ab\"{2,3}", "ab", false)]
    [InlineData("root ::= \"ab\"{2,3}", "abababab", false)]
    [InlineData("root ::= [0-9]{2,}", "12345678901234567890", true)]
    [InlineData("root ::= [0-9]{2,}", "1", false)]
    [InlineData("root ::= [0-9]{0,2} \"x\"", "x", true)]
    [InlineData("root ::= [0-9]{0,2} \"x\"", "12x", true)]
    [InlineData("root ::= [0-9]{0,2} \"x\"", "123x", false)]
    [InlineData("root ::= (\"a\" | \"b\")+ \"c\"?", "abba", true)]
    [InlineData("root ::= (\"a\" | \"b\")+ \"c\"?", "abbac", true)]
    [InlineData("root ::= (\"a\" | \"b\")+ \"c\"?", "c", false)]
    [InlineData("root ::= ( \"a\" ){ 1 , 2 }", "aa", true)]
    public void Repetition_bounds(string gbnf, string text, bool matches) =>
        Assert.Equal(matches, CompiledGrammar.Parse(gbnf).Matches(text));

    [Fact]
    public void Empty_alternatives_and_empty_literals()
    {
        var g = CompiledGrammar.Parse("root ::= \"\" | \"a\" opt\nopt ::= | \"b\"");
        Assert.True(g.Matches(""));
        Assert.True(g.Matches("a"));
        Assert.True(g.Matches("ab"));
        Assert.False(g.Matches("b"));
    }

    [Theory]
    [InlineData("root ::= foo", 1, 10, "undefined rule 'foo'")]
    [InlineData("item ::= \"a\"", 0, 0, "no rule named 'root'")]
    [InlineData("root ::= \"a\"\nroot ::= \"b\"", 2, 1, "defined twice")]
    [InlineData("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"", 2, 1, "left-recursive")]
    [InlineData("root ::= a\na ::= b \"x\"\nb ::= \"\" | a", 2, 1, "left-recursive")]
    [InlineData("root ::= (\"a\"?)*", 1, 10, "can match the empty string")]
    [InlineData("root ::= \"x\" loop\nloop ::= \"a\" loop", 2, 1, "can never finish")]
    [InlineData("root ::= \"abc", 1, 10, "unterminated string literal")]
    [InlineData("root ::= \"a\\q\"", 1, 12, "unknown escape '\\q'")]
    [InlineData("root ::= \"\\x4\"", 1, 11, "needs 2 hex digits")]
    [InlineData("root ::= \"\\U00110000\"", 1, 11, "beyond U+10FFFF")]
    [InlineData("root ::= [a-", 1, 10, "unterminated character class")]
    [InlineData("root ::= [z-a]", 1, 11, "runs backwards")]
    [InlineData("root ::= (\"a\"", 1, 14, "missing ')'")]
    [InlineData("root ::= \"a\")", 1, 13, "unexpected ')'")]
    [InlineData("root ::= * \"a\"", 1, 10, "must follow something to repeat")]
    [InlineData("root ::= \"a\"{3,1}", 1, 10, "maximum below its minimum")]
    [InlineData("root ::= \"a\"{99999}", 1, 14, "above the limit")]
    [InlineData("root ::= \"a\"{x}", 1, 14, "expected a number")]
    [InlineData("root \"a\"", 1, 6, "expected ::=")]
    [InlineData("root ::= \"a\"\n  ::= \"b\"", 2, 3, "expected a rule name")]
    public void Errors_name_the_problem_with_line_and_column(string gbnf, int line, int column, string message)
    {
        GrammarException e = Fails(gbnf);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(line, e.Line);
        Assert.Equal(column, e.Column);
        if (line > 0)
        {
            Assert.StartsWith($"line {line}, column {column}: ", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Hostile_grammars_hit_limits_not_hangs()
    {
        Assert.Contains("nest deeper", Fails("root ::= " + new string('(', 200) + "\"a\"" + new string(')', 200)).Message, StringComparison.Ordinal);
        Assert.Contains("characters long", Fails("root ::= \"" + new string('a', GrammarLimits.MaxSourceLength) + "\"").Message, StringComparison.Ordinal);
        // 10,000 nested bounded repetitions of 10,000 each would be 10^8 rules: refused by the symbol limit
        string nested = "root ::= " + string.Concat(Enumerable.Repeat("(", 100)) + "\"a\"" + string.Concat(Enumerable.Repeat("){0,10000}", 100));
        Assert.Contains("more than", Fails(nested).Message, StringComparison.Ordinal);
        // rules that double the parses at each level: compiling is linear, and the matcher stops at its bound
        var sb = new System.Text.StringBuilder("root ::= r0\n");
        for (int i = 0; i < 60; i++)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"r{i} ::= r{i + 1} r{i + 1} | \"\"\n");
        }
        sb.Append("r60 ::= \"a\" | \"\"\n");
        // every subset of pending "second r_i" is a distinct parse: 2^60 of them, refused at the bound
        Assert.Contains("too ambiguous", Fails(sb.ToString()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ambiguous_grammars_keep_every_parse_but_bounded()
    {
        var g = CompiledGrammar.Parse("root ::= (\"a\" | \"a\" \"a\" | \"aaa\")* \"b\"");
        Assert.True(g.Matches(new string('a', 200) + "b"));
        Assert.False(g.Matches(new string('a', 200) + "c"));
    }
}
