namespace Cria.Templates.Tests;

/// <summary>
/// Filters and Python methods. Each expected string is Jinja2 3.1.6's output for the template with
/// Hugging Face's settings (its tojson is json.dumps with ensure_ascii=False and insertion-ordered keys).
/// </summary>
public sealed class FilterTests
{
    [Theory]
    [InlineData("{{ '  x  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'hELLO wOrld' | capitalize }}|{{ \"they're bill's\" | title }}|{{ 'Hello' | lower | upper }}",
        "x|hi|Hello world|They're Bill's|HELLO")]
    [InlineData("{{ 'abc'|replace('b','x') }}{{ 'aaa'|replace('a','b',2) }}{{ 'abc' | reverse }}{{ [1,2] | reverse | list }}",
        "axcbbacba[2, 1]")]
    [InlineData("{{ 'abc' | center(9) }}|{{ 'Hello World foo' | truncate(9) }}|{{ 'hello' | truncate(9) }}|{{ 'a b  c' | wordcount }}",
        "   abc   |Hello...|hello|3")]
    [InlineData("{{ 'a\nb' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent(2) }}|{{ 'a\n\nb' | indent(2, blank=true) }}",
        "a\n  b|  a\n  b|a\n\n  b|a\n  \n  b")]
    [InlineData("{{ [1, 'a'] | join(', ') }}|{{ [{'n': 'a'}, {'n': 'b'}] | join('-', attribute='n') }}|{{ '%s-%s' | format(1, 2) }}|{{ '<a href=\"x\">&' | e }}|{{ 'x' | safe }}",
        "1, a|a-b|1-2|&lt;a href=&#34;x&#34;&gt;&amp;|x")]
    [InlineData("{{ x | default('d') }}{{ '' | default('d') }}{{ '' | default('d', true) }}{{ none | default('d') }}{{ x | d('e') }}",
        "ddNonee")]
    public void String_filters(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ 3.7 | int }} {{ '42' | int }} {{ 'x' | int }} {{ 'x' | int(5) }} {{ '3.5' | float }} {{ 3 | float }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ -3 | abs }} {{ '0x1A' | int(base=16) }} {{ '4.7' | int }}",
        "3 42 0 5 3.5 3.0 2.0 4.0 2.57 3 26 4")]
    [InlineData("{{ 10 | round(1, 'floor') }}{{ 2.5 | round(0, 'ceil') }}{{ 1.25 | round(1) }}{{ '1e3' | float }}{{ ' 42 ' | int }}{{ true | int }}",
        "10.03.01.21000.0421")]
    public void Number_filters(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ [3,1,2] | sort }}{{ [3,1,2] | sort(reverse=true) }}{{ ['b','A','a'] | sort }}{{ ['b','A','a'] | sort(case_sensitive=true) }}{{ [1,1,2] | unique | list }}",
        "[1, 2, 3][3, 2, 1]['A', 'a', 'b']['A', 'a', 'b'][1, 2]")]
    [InlineData("{{ [{'n':'b'},{'n':'a'}] | sort(attribute='n') | map(attribute='n') | join(',') }}|{{ [{'a':1},{'b':2}] | map(attribute='a', default=0) | list }}|{{ ['a','B'] | map('upper') | list }}",
        "a,b|[1, 0]|['A', 'B']")]
    [InlineData("{{ [1,2,3] | select('odd') | list }}{{ [1,2,3] | reject('odd') | list }}{{ [0,1,''] | select | list }}",
        "[1, 3][2][1]")]
    [InlineData("{{ [{'a':1},{'a':2}] | selectattr('a', 'equalto', 2) | list }}{{ [{'a':1},{'a':2}] | rejectattr('a', '==', 2) | list }}{{ [{'a':1},{'b':2}] | selectattr('a', 'defined') | list }}",
        "[{'a': 2}][{'a': 1}][{'a': 1}]")]
    [InlineData("{{ [1,2,3,4] | select('divisibleby', 2) | list }}{{ [1, 'a', none] | select('string') | list }}{{ [{'r': 'user'}, {'r': 'tool'}] | selectattr('r', 'in', ['tool']) | list }}",
        "[2, 4]['a'][{'r': 'tool'}]")]
    [InlineData("{{ [1,2,3] | first }}{{ [1,2,3] | last }}{{ [1,2,3] | sum }}{{ [1,2,3] | max }}{{ [1,2,3] | min }}{{ [1,2,3] | length }}{{ 'abc' | count }}{{ [] | first is defined }}",
        "1363133False")]
    [InlineData("{{ [1,2,3] | sum(start=10) }}{{ [{'a':1},{'a':2}] | sum(attribute='a') }}{{ ['b','C','a'] | max }}{{ [{'x': 3}, {'x': 1}] | min(attribute='x') }}",
        "163C{'x': 1}")]
    [InlineData("{{ [1,2,3,4,5] | batch(2) | list }}{{ [1,2,3] | batch(2, 0) | list }}{{ {'b':1,'a':2} | dictsort }}{{ {'b':1,'a':2} | dictsort(by='value') }}",
        "[[1, 2], [3, 4], [5]][[1, 2], [3, 0]][('a', 2), ('b', 1)][('b', 1), ('a', 2)]")]
    [InlineData("{{ 3 | string }}{{ [1,'a'] | string }}{{ none | string }}{{ 'x' | list }}{{ {'a':1,'b':2} | list }}{{ {'a': 1} | items | list }}{{ x | items | list }}",
        "3[1, 'a']None['x']['a', 'b'][('a', 1)][]")]
    public void Sequence_filters(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ 'a\"b\\\\c\\n\\t\\u00e9\\u2028\\x01<>&\\'' | tojson }}|{{ {'a': [1, {}], 'b': {'x': []}} | tojson(indent=2) }}|{{ [1.5, 2] | tojson(indent=0) }}",
        "\"a\\\"b\\\\c\\n\\té\u2028\\u0001<>&'\"|{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"x\": []\n  }\n}|[\n1.5,\n2\n]")]
    [InlineData("{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}{{ [1, 2] | tojson(separators=(',', ':')) }}{{ 'é' | tojson(ensure_ascii=true) }}{{ {1: 2, true: 3} | tojson }}",
        "{\"a\": 2, \"b\": 1}[1,2]\"\\u00e9\"{\"1\": 3}")]
    [InlineData("{{ {'a': none, 'b': true, 'c': 1.0, 'd': 1e20, 'e': (1, 2)} | tojson }}",
        "{\"a\": null, \"b\": true, \"c\": 1.0, \"d\": 1e+20, \"e\": [1, 2]}")]
    public void Tojson_is_hugging_faces_json_dumps(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ 'a,b,,c'.split(',') }}{{ 'a b  c '.split() }}{{ 'aXbXc'.split('X', 1) }}{{ 'a b c'.rsplit(' ', 1) }}{{ 'a\\nb\\r\\nc'.splitlines() }}",
        "['a', 'b', '', 'c']['a', 'b', 'c']['a', 'bXc']['a b', 'c']['a', 'b', 'c']")]
    [InlineData("{{ 'xxhixx'.strip('x') }}|{{ '  a  '.lstrip() }}|{{ '  a  '.rstrip() }}|{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}",
        "hi|a  |  a|Hello World|Hello|ABab")]
    [InlineData("{{ 'abc'.startswith('a') }}{{ 'abc'.startswith(('x','a')) }}{{ 'abc'.endswith('bc') }}{{ 'a-b-c'.replace('-', '+', 1) }}{{ 'abcb'.find('b') }}{{ 'abcb'.rfind('b') }}{{ 'abcb'.count('b') }}",
        "TrueTrueTruea+b-c132")]
    [InlineData("{{ 'x'.join(['a','b']) }}{{ 'Ab1'.isalnum() }}{{ '12'.isdigit() }}{{ ' '.isspace() }}{{ 'abc'.removeprefix('a') }}{{ 'abc'.removesuffix('c') }}{{ '5'.zfill(3) }}",
        "axbTrueTrueTruebcab005")]
    [InlineData("{{ '{0}-{1}-{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='x') }}|{{ '{:>5}'.format('a') }}|{{ '{:.2f}'.format(3.14159) }}|{{ '{:05d}'.format(42) }}|{{ '{!r}'.format('q') }}",
        "a-b-a|x!|    a|3.14|00042|'q'")]
    [InlineData("{% set content = 'think</think>answer' %}{{ content.split('</think>')[-1] }}{{ '</think>' in content }}{{ 'openchat'.title() }}",
        "answerTrueOpenchat")]
    public void String_methods(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }

    [Theory]
    [InlineData("{{ {'a': 1}.items() | list }}{{ {'a': 1}.keys() | list }}{{ {'a': 1}.values() | list }}{{ {'a':1}.get('b') }}{{ [1, 2, 1].count(1) }}{{ [1, 2].index(2) }}",
        "[('a', 1)]['a'][1]None21")]
    public void Dict_and_list_methods(string source, string expected)
    {
        Assert.Equal(expected, Jinja.Render(source));
    }
}
