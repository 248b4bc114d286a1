namespace Cria.Templates.Tests;

/// <summary>Expressions. Expected strings are Jinja2 3.1.6's output (Python's str() of each value).</summary>
public sealed class ExpressionTests
{
    [Theory]
    [InlineData("{{ none }}|{{ [1,'a',none,true,1.5] }}|{{ {'a':1,'b':'x'} }}|{{ true }}|{{ (1,2) }}|{{ (1,) }}|{{ () }}",
        "None|[1, 'a', None, True, 1.5]|{'a': 1, 'b': 'x'}|True|(1, 2)|(1,)|()")]
    [InlineData("{{ 1.0 }}|{{ 1e20 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ 0.1 + 0.2 }}|{{ 1/3 }}|{{ -0.0 }}",
        "1.0|1e+20|1e+16|1000000000000000.0|0.0001|1e-05|0.30000000000000004|0.3333333333333333|-0.0")]
    [InlineData("{{ ['it\\'s', 'a\"b', 'x\\ny', 'both\\'\"'] }}", "[\"it's\", 'a\"b', 'x\\ny', 'both\\'\"']")]
    [InlineData("{{ 'a' 'b' }}{{ \"\\u00e9\\x41\\t|\" }}", "abéA\t|")]
    public void Literals_print_like_python(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }}", "3 -4 2 3.5 2.0 1024 0.5 3.0")]
    [InlineData("{{ 2 ** 3 ** 2 }} {{ 10 - 2 - 3 }} {{ 2 + 3 * 4 }} {{ (2 + 3) * 4 }} {{ -2 ** 2 }}", "64 5 14 20 4")]
    [InlineData("{{ 'a' ~ 1 ~ 2.5 ~ none ~ true ~ undefined_name }}", "a12.5NoneTrue")]
    [InlineData("{{ 'x' * 3 }}{{ [1] * 2 }}{{ [1] + [2] }}{{ 'a' + 'b' }}{{ true + 1 }}", "xxx[1, 1][1, 2]ab2")]
    [InlineData("{{ 'hello %s and %d' % ('a', 3) }}|{{ '%5.2f|%-3d|%x|%r' % (3.14159, 7, 255, 'q') }}", "hello a and 3| 3.14|7  |ff|'q'")]
    [InlineData("{{ '%.3e|%g|%g|%05.1f' % (12345.678, 0.0001, 1e20, 3.14159) }}", "1.235e+04|0.0001|1e+20|003.1")]
    public void Arithmetic(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1,2] == [1,2] }} {{ {'a':1} == {'a':1} }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}", "True True True True True True False")]
    [InlineData("{{ 'ab' in 'cabd' }}{{ 1 in [1,2] }}{{ 'a' in {'a':1} }}{{ 'a' not in {'a':1} }}{{ not 1 == 2 }}", "TrueTrueTrueFalseTrue")]
    [InlineData("{{ 'x' if none else 'y' }}{{ 0 or 'z' }}{{ 1 and 'w' }}{{ none or [] }}{{ 'a' if false }}", "yzw[]")]
    public void Comparison_and_logic(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ 10 is divisibleby 5 }}{{ 3 is odd }}{{ 4 is even }}{{ 'a' is string }}{{ 1 is number }}{{ true is number }}", "TrueTrueTrueTrueTrueTrue")]
    [InlineData("{{ 1.0 is integer }}{{ true is integer }}{{ [] is sequence }}{{ 'x' is iterable }}{{ {} is mapping }}{{ 1.5 is float }}", "FalseFalseTrueTrueTrueTrue")]
    [InlineData("{{ x is undefined }}{{ x is defined }}{{ none is none }}{{ none is not none }}{{ true is boolean }}{{ 1 is boolean }}", "TrueFalseTrueFalseTrueFalse")]
    [InlineData("{{ 5 is gt 3 }}{{ 5 is ge 5 }}{{ 5 is lt 3 }}{{ 'a' is eq 'a' }}{{ 'a' is ne 'a' }}{{ 5 is in [5] }}{{ 'a' is equalto('a') }}", "TrueTrueFalseTrueFalseTrueTrue")]
    [InlineData("{{ true is true }}{{ 1 is true }}{{ false is false }}{{ range is callable }}{{ 'ABC' is upper }}{{ 'abc' is lower }}", "TrueFalseTrueTrueTrueTrue")]
    public void Tests(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ 'abc'[::-1] }} {{ [1,2,3][1:] }} {{ 'héllo'[1:3] }} {{ [1,2,3][-1] }}", "cba [2, 3] él 3")]
    [InlineData("{{ [1,2,3,4,5][::2] }}{{ [1,2,3][-2:] }}{{ 'hello'[1:-1] }}{{ [1,2,3][::-1] }}{{ 'abc'[5:] }}|{{ (1,2,3)[1:] }}", "[1, 3, 5][2, 3]ell[3, 2, 1]|(2, 3)")]
    [InlineData("{{ '😀ab'[0] }}{{ '😀ab'[1:] }}{{ '😀ab' | length }}{{ '😀ab'[::-1] }}", "😀ab3ba😀")]
    [InlineData("{{ out[:-1] }}", "{\"a\": 1")]
    public void Subscripts_and_slices(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source, ("out", "{\"a\": 1}")));
    }

    [Theory]
    [InlineData("{{ {'a': {'b': [1, {'c': none}]}}.a.b[1].c }}", "None")]
    [InlineData("{% set d = {'k': 'v'} %}{{ d.k }}{{ d['k'] }}{{ d.missing is defined }}{{ d.get('missing', 'z') }}{{ d.get('k') }}", "vvFalsezv")]
    [InlineData("{{ {'a':1}['a'] }}{{ {'a':1}.a }}{{ [1,2].0 }}{{ ('a', 'b')[1] }}", "111b")]
    [InlineData("{% set d = {'items': 1} %}{{ d['items'] }}{{ d.items() | list }}", "1[('items', 1)]")]
    [InlineData("{{ x.y.z }}|{{ x.y.z is defined }}|{{ x['a'][0] }}|{{ [1][5] is defined }}", "|False||False")]
    public void Attribute_and_item_access(string source, string expected)
    {
        // Missing attributes and items are undefined; so is anything read from undefined (lenient chaining).
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Fact]
    public void Json_values_keep_their_types_and_key_order()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"b": 1, "a": [1.0, 2.5, true, null, "x"], "c": {"z": 1, "y": 2}}""");
        Assert.Equal(
            "{'b': 1, 'a': [1.0, 2.5, True, None, 'x'], 'c': {'z': 1, 'y': 2}}|{\"b\": 1, \"a\": [1.0, 2.5, true, null, \"x\"], \"c\": {\"z\": 1, \"y\": 2}}",
            Jinja.Render("{{ j }}|{{ j | tojson }}", ("j", doc.RootElement)));
    }

    [Fact]
    public void Dotnet_values_convert()
    {
        var map = new Dictionary<string, object?> { ["n"] = 3L, ["f"] = 0.5, ["s"] = "t", ["l"] = new[] { 1, 2 }, ["none"] = null };
        Assert.Equal("{'n': 3, 'f': 0.5, 's': 't', 'l': [1, 2], 'none': None}", Jinja.Render("{{ m }}", ("m", map)));
    }
}
