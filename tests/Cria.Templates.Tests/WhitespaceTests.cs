namespace Cria.Templates.Tests;

/// <summary>Whitespace control. Expected strings are Jinja2 3.1.6's output with Hugging Face's settings (trim_blocks, lstrip_blocks).</summary>
public sealed class WhitespaceTests
{
    [Theory]
    [InlineData("a\n  {% if true %}\n  x\n  {% endif %}\nb", "a\n  x\nb")]
    [InlineData("a\n  {{ 'x' }}\n  {# c #}\nb\n", "a\n  x\nb")]
    [InlineData("{% if true %}  \nx{% endif %}", "  \nx")]
    [InlineData("  {% if true %}x{% endif %}", "x")]
    [InlineData("a  {%+ if true %}x{% endif +%}\nb", "a  x\nb")]
    [InlineData("x {#- c -#} y", "xy")]
    [InlineData("a  {{- 'b' -}}  c", "abc")]
    [InlineData("{%- if true -%}\n\n  x  \n\n{%- endif -%}", "x")]
    [InlineData("{% raw %}{{ x }}{% endraw %}\n", "{{ x }}")]
    [InlineData("{%- raw -%}  {{ x }} {% if %}  {%- endraw -%}  ", "{{ x }} {% if %}")]
    [InlineData("a\r\n{% if true %}\r\nb{% endif %}", "a\nb")]
    [InlineData("x\n", "x")]
    [InlineData("{{ '}}' }}{{ {'a': {'b': 1}}['a']['b'] }}", "}}1")]
    public void Hugging_Face_defaults(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Fact]
    public void Plain_jinja_without_trim_or_lstrip()
    {
        var options = new TemplateOptions { TrimBlocks = false, LstripBlocks = false };
        Assert.Equal("a\n  \n  x\n  \nb", Jinja.Render("a\n  {% if true %}\n  x\n  {% endif %}\nb", options));
    }

    [Fact]
    public void Keep_trailing_newline()
    {
        Assert.Equal("x\n", Jinja.Render("x\n", new TemplateOptions { KeepTrailingNewline = true }));
    }

    [Fact]
    public void Minja_style_lstrip_of_variable_tags_is_opt_in()
    {
        const string source = "a\n  {{ 'x' }}";
        Assert.Equal("a\n  x", Jinja.Render(source));
        Assert.Equal("a\nx", Jinja.Render(source, new TemplateOptions { LstripVariableTags = true }));
    }
}
