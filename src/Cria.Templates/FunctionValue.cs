namespace Cria.Templates;

/// <summary>A callable: a macro, a global such as <c>range</c>, or a method bound to its object (<c>s.strip</c>).</summary>
internal sealed class FunctionValue(string name, Func<Interpreter, Arguments, Value> body) : Value
{
    public string Name { get; } = name;

    public override string TypeName => "function";

    public Value Invoke(Interpreter interpreter, Arguments arguments) => body(interpreter, arguments);

    public override string ToString() => $"<function {Name}>";
}
