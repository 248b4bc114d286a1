namespace Cria.Templates.Tests;

/// <summary>Statements: if, for (loop object, filters, else, unpacking, break/continue), set, namespaces, macros, call, filter, with.</summary>
public sealed class StatementTests
{
    [Theory]
    [InlineData("{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}", 2, "two")]
    [InlineData("{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}", 9, "many")]
    [InlineData("{% if x %}yes{% endif %}", 0, "")]
    public void If_elif_else(string source, int x, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source, ("x", x)));
    }

    [Theory]
    [InlineData("{% for x in [1,2,3] if x != 2 %}{{ loop.index }}{{ loop.length }}{{ loop.first }}{{ loop.last }}{% endfor %}", "12TrueFalse22FalseTrue")]
    [InlineData("{% for x in 'ab' %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}", "-b;a-;")]
    [InlineData("{% for x in [5,6,7] %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }} {% endfor %}", "032 121 210 ")]
    [InlineData("{% for x in [] %}a{% else %}empty{% endfor %}", "empty")]
    [InlineData("{% for x in [1] if false %}a{% else %}filtered{% endfor %}", "filtered")]
    [InlineData("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;")]
    [InlineData("{% for (k, v) in {'a': 1} | items %}{{ k }}{{ v }}{% endfor %}", "a1")]
    [InlineData("{% for x in [1,2,3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% endfor %}", "13")]
    [InlineData("{% for x in [1,2,3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}", "1")]
    [InlineData("{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}", "113 214 1|123 224 2|")]
    [InlineData("{% for i in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", "ababa")]
    [InlineData("{% for i in range(3) %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}", "0, 1, 2")]
    [InlineData("{% for key in {'b': 1, 'a': 2} %}{{ key }}{% endfor %}", "ba")]
    public void For_loops(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}", "[][]")]
    [InlineData("{% set x = 0 %}{% for i in [1,2] %}{% if true %}{% set x = i %}{% endif %}{{ x }}{% endfor %}{{ x }}", "120")]
    [InlineData("{% if true %}{% set x = 5 %}{% endif %}{{ x }}", "5")]
    [InlineData("{% set a, b = [1, 2] %}{{ a }}{{ b }}", "12")]
    [InlineData("{% set x %}  hi  {% endset %}[{{ x }}]", "[  hi  ]")]
    [InlineData("{% set x | trim %}  hi  {% endset %}[{{ x }}]", "[hi]")]
    [InlineData("{% set a = 1 %}{% with a = 2 %}{{ a }}{% endwith %}{{ a }}", "21")]
    public void Set_and_scoping(string source, string expected)
    {
        // A loop body is a fresh scope on every iteration; if-blocks share the enclosing scope.
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{% set ns = namespace(a=1) %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}", "4")]
    [InlineData("{% set ns = namespace(found=false) %}{% for m in ['x', 'y'] %}{% if m == 'y' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}", "True")]
    [InlineData("{% set ns = namespace() %}{% set ns.items = [] %}{% for i in [1, 2] %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.items }}", "[1, 2]")]
    [InlineData("{% set ns = namespace() %}{% set ns.text %}block{% endset %}{{ ns.text }}", "block")]
    [InlineData("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns['b'] }}", "12")]
    [InlineData("{% set l = [] %}{% do l.append(1) %}{{ l.append(2) }}{{ l }}", "None[1, 2]")]
    public void Namespaces_carry_state_out_of_loops(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{% macro m(a, b=2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }}|{{ m(1, b=3) }}|{{ m(b=5, a=4) }}", "1-2|1-3|4-5")]
    [InlineData("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}", "321")]
    [InlineData("{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}", "2")]
    [InlineData("{% macro m(a) %}{{ a is defined }}{% endmacro %}{{ m() }}", "False")]
    [InlineData("{% macro m() %}{{ caller() }}!{% endmacro %}{% call m() %}body{% endcall %}", "body!")]
    [InlineData("{% macro m(x) %}{{ caller(x * 2) }}{% endmacro %}{% call(y) m(2) %}got {{ y }}{% endcall %}", "got 4")]
    [InlineData("{% filter upper %}abc{% endfilter %}", "ABC")]
    [InlineData("{% filter trim | upper %}  hi  {% endfilter %}", "HI")]
    [InlineData("{% generation %}{{ 'kept' }}{% endgeneration %}", "kept")]
    public void Macros_calls_and_filter_blocks(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Fact]
    public void Strftime_now_uses_the_injected_clock()
    {
        var options = new TemplateOptions { Clock = new FixedClock(new DateTimeOffset(2024, 7, 26, 9, 5, 3, TimeSpan.FromHours(2))) };
        Assert.Equal("26 Jul 2024", Jinja.Render("{{ strftime_now('%d %b %Y') }}", options));
        Assert.Equal("Friday July 09:05:03 AM 2024-07-26 7 +0200", Jinja.Render("{{ strftime_now('%A %B %H:%M:%S %p %F %-m %z') }}", options));
    }
}
