using Cria.Core.Tests;

namespace Cria.Templates.Tests;

/// <summary>Errors name the template line; hostile templates hit limits instead of hanging or crashing.</summary>
public sealed class ErrorTests
{
    private static TemplateException Fails(string source, TemplateOptions? options = null, params (string Name, object? Value)[] variables) =>
        Assert.Throws<TemplateException>(() => Jinja.Render(source, options ?? TemplateOptions.Default, variables));

    [Theory]
    [InlineData("line1\n{% if x %}\nabc", 3, "expected 'elif' or 'else' or 'endif' to close the 'if' tag at line 2")]
    [InlineData("{{ 1 + }}", 1, "expected an expression but found '}}'")]
    [InlineData("a\n\n{% endfor %}", 3, "unexpected 'endfor'")]
    [InlineData("{% for x in y %}{% endif %}", 1, "unexpected 'endif'; expected 'else' or 'endfor'")]
    [InlineData("{% foo %}", 1, "unknown tag 'foo'")]
    [InlineData("x\n{{ 'abc }}", 2, "unterminated string literal")]
    [InlineData("{# never closed", 1, "unclosed comment")]
    [InlineData("{{ x ", 1, "unclosed tag")]
    [InlineData("{% include 'other.jinja' %}", 1, "'include' is not supported")]
    [InlineData("{% break %}", 1, "'break' outside of a for loop")]
    [InlineData("{{ (1 }}", 1, "unexpected '}', expected ')'")]
    [InlineData("{% macro m(a=1, b) %}{% endmacro %}", 1, "non-default parameter follows default parameter")]
    [InlineData("{{ f(a=1, 2) }}", 1, "positional argument follows keyword argument")]
    [InlineData("{{ 99999999999999999999 }}", 1, "too large")]
    public void Syntax_errors_name_line_and_cause(string source, int line, string reason)
    {
        TemplateException ex = Assert.Throws<TemplateException>(() => Template.Parse(source));
        Assert.Equal(TemplateErrorKind.Syntax, ex.Kind);
        Assert.Equal(line, ex.Line);
        Assert.True(ex.Column > 0);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
        Assert.Contains($"at line {line}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ok\n{{ foo() }}", 2, "'foo' is undefined")]
    [InlineData("{% set a = 1 %}\n\n{{ 'a' + a }}", 3, "can only concatenate str (not \"int\") to str")]
    [InlineData("{{ x | tojson }}", 1, "Object of type Undefined is not JSON serializable")]
    [InlineData("{{ 1 | nope }}", 1, "no filter named 'nope'")]
    [InlineData("{{ 1 is nope }}", 1, "no test named 'nope'")]
    [InlineData("{{ 'a' < 1 }}", 1, "'<' not supported between instances of 'str' and 'int'")]
    [InlineData("{{ 1 / 0 }}", 1, "division by zero")]
    [InlineData("{{ 'abc'.nope() }}", 1, "'str object' has no attribute 'nope'")]
    [InlineData("{% for x in none %}{% endfor %}", 1, "'NoneType' object is not iterable")]
    [InlineData("{% for a, b in [[1, 2, 3]] %}{% endfor %}", 1, "too many values to unpack (expected 2)")]
    [InlineData("{% set x = 1 %}{% set x.y = 2 %}", 1, "it is not a namespace()")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", 1, "macro 'm' takes not more than 1 argument(s)")]
    [InlineData("{{ 9223372036854775807 + 1 }}", 1, "integer overflow")]
    [InlineData("{{ 'x' + undefined_thing }}", 1, "'undefined_thing' is undefined")]
    public void Runtime_errors_name_line_and_cause(string source, int line, string reason)
    {
        TemplateException ex = Fails(source);
        Assert.Equal(TemplateErrorKind.Runtime, ex.Kind);
        Assert.Equal(line, ex.Line);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Raise_exception_carries_the_template_message_and_line()
    {
        TemplateException ex = Fails("{% for m in messages %}\n  {% if m == 'bad' %}\n    {{- raise_exception('Roles must alternate') }}\n  {% endif %}\n{% endfor %}",
            null, ("messages", new[] { "ok", "bad" }));
        Assert.Equal(TemplateErrorKind.Raised, ex.Kind);
        Assert.Equal("Roles must alternate", ex.Reason);
        Assert.Equal(3, ex.Line);
        Assert.Equal("    {{- raise_exception('Roles must alternate') }}", ex.SourceLine);
        Assert.StartsWith("template raised an exception at line 3, column ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith(": Roles must alternate\n      {{- raise_exception('Roles must alternate') }}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_inside_a_macro_points_into_the_macro()
    {
        TemplateException ex = Fails("{% macro m(x) %}\n{{ x.y + 1 }}\n{% endmacro %}\n{{ m({'y': 'a'}) }}");
        Assert.Equal(2, ex.Line);
    }

    [Theory]
    [InlineData("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")]
    [InlineData("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}")]
    [InlineData("{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}")]
    [InlineData("{{ 'x' * 100000000000 }}")]
    [InlineData("{{ [1] * 100000000000 }}")]
    [InlineData("{{ range(1000000000000) | length }}")]
    [InlineData("{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")]
    [InlineData("{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}")]
    [InlineData("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}")]
    [InlineData("{{ 'ab' | replace('a', 'a' * 5000) | replace('a', 'a' * 5000) }}")]
    [InlineData("{% set l = [1] %}{% for i in range(100000) %}{% do l.append(i) %}{% endfor %}")]
    public void Hostile_templates_hit_a_limit(string source)
    {
        var options = new TemplateOptions { MaxIterations = 50_000, MaxOutputChars = 10_000, MaxCallDepth = 50 };
        TemplateException ex = Fails(source, options);
        Assert.Equal(TemplateErrorKind.Limit, ex.Kind);
        Assert.True(ex.Line > 0);
    }

    [Fact]
    public void Deep_nesting_is_refused_not_a_stack_overflow()
    {
        string deepExpression = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        Assert.Equal(TemplateErrorKind.Limit, Assert.Throws<TemplateException>(() => Template.Parse(deepExpression)).Kind);
        string deepBlocks = string.Concat(Enumerable.Repeat("{% if true %}", 2000)) + string.Concat(Enumerable.Repeat("{% endif %}", 2000));
        Assert.Equal(TemplateErrorKind.Limit, Assert.Throws<TemplateException>(() => Template.Parse(deepBlocks)).Kind);
        string deepNot = "{{ " + string.Concat(Enumerable.Repeat("not ", 5000)) + "x }}";
        Assert.Equal(TemplateErrorKind.Limit, Assert.Throws<TemplateException>(() => Template.Parse(deepNot)).Kind);
        string deepElse = "{{ " + string.Concat(Enumerable.Repeat("1 if x else ", 5000)) + "2 }}";
        Assert.Equal(TemplateErrorKind.Limit, Assert.Throws<TemplateException>(() => Template.Parse(deepElse)).Kind);
        // A long flat chain parses in a loop but evaluates recursively: the stack guard turns it into a limit error.
        string longChain = "{{ 1" + string.Concat(Enumerable.Repeat(" + 1", 200_000)) + " }}";
        Assert.Equal(TemplateErrorKind.Limit, Assert.Throws<TemplateException>(() => Template.Parse(longChain).Render()).Kind);
    }

    [Fact]
    public void Self_referencing_values_fail_cleanly()
    {
        TemplateException ex = Fails("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}");
        Assert.Equal(TemplateErrorKind.Limit, ex.Kind);
        Fails("{% set l = [] %}{% do l.append(l) %}{{ l | tojson }}");
    }

    [Theory]
    [InlineData("{{")]
    [InlineData("{%")]
    [InlineData("{{ {{ }}")]
    [InlineData("{% for %}")]
    [InlineData("{% for x in %}{% endfor %}")]
    [InlineData("{% set %}")]
    [InlineData("{{ a. }}")]
    [InlineData("{{ 'a' | }}")]
    [InlineData("{% macro %}")]
    [InlineData("{% if %}{% elif %}{% endif %}")]
    [InlineData("{{ [1, 2 }}")]
    [InlineData("{{ {'a' 1} }}")]
    [InlineData("{% endraw %}")]
    [InlineData("{% raw %}never ends")]
    [InlineData("{{ x[::] }}{{ '\\u12' }}")]
    [InlineData("{% if true %}{% else %}{% else %}{% endif %}")]
    [InlineData("{{ x is }}")]
    public void Malformed_templates_are_syntax_errors(string source)
    {
        Assert.Throws<TemplateException>(() => Template.Parse(source));
    }

    [Fact]
    public void Every_prefix_of_every_real_template_parses_or_fails_cleanly()
    {
        // A crude fuzz: cutting a real template anywhere must give a TemplateException or a template
        // that renders (or fails) with one, never another exception or a hang.
        var messages = new List<object?>
        {
            new Dictionary<string, object?> { ["role"] = "user", ["content"] = "Hi" },
            new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = "Yo" },
        };
        foreach (string file in TemplateFileTests.AllFiles.Cast<object[]>().Select(row => (string)row[0]))
        {
            string source = File.ReadAllText(TestData.Path(file));
            for (int cut = 0; cut < source.Length; cut += 5)
            {
                try
                {
                    Template.Parse(source[..cut]).Render(new Dictionary<string, object?> { ["messages"] = messages, ["add_generation_prompt"] = true });
                }
                catch (TemplateException)
                {
                    // Expected for most prefixes.
                }
            }
        }
    }
}
