using System.Runtime.CompilerServices;

namespace Cria.Templates;

internal sealed partial class Interpreter
{
    public Value Eval(Expr expr, Scope scope)
    {
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return EvalCore(expr, scope);
        }
        catch (TemplateException ex)
        {
            ex.Locate(expr.Line, expr.Column);
            throw;
        }
    }

    private Value EvalCore(Expr expr, Scope scope)
    {
        switch (expr)
        {
            case LiteralExpr literal:
                return literal.Value;
            case NameExpr name:
                return scope.TryGet(name.Name, out Value? value) ? value : UndefinedValue.ForName(name.Name);
            case ListExpr list:
                return new ListValue([.. list.Items.Select(e => Eval(e, scope))], list.IsTuple);
            case DictExpr dict:
                var result = new DictValue();
                foreach ((Expr key, Expr item) in dict.Pairs)
                {
                    Value k = Eval(key, scope);
                    if (k is ListValue { IsTuple: false } or DictValue)
                    {
                        throw Errors.Runtime($"unhashable type: '{k.TypeName}'");
                    }
                    result.Items[k] = Eval(item, scope);
                }
                return result;
            case AttributeExpr attribute:
                return GetAttribute(Eval(attribute.Target, scope), attribute.Name);
            case ItemExpr item:
                return GetItem(Eval(item.Target, scope), Eval(item.Key, scope));
            case SliceExpr slice:
                return Slice(Eval(slice.Target, scope), OptionalLong(slice.Start, scope), OptionalLong(slice.Stop, scope), OptionalLong(slice.Step, scope));
            case CallExpr call:
                return Call(Eval(call.Callee, scope), EvalArguments(call.Arguments, scope));
            case FilterExpr filter:
                return ApplyFilter(filter, Eval(filter.Input!, scope), scope);
            case TestExpr test:
                return BoolValue.Of(ApplyTest(test.Name, Eval(test.Input, scope), EvalArguments(test.Arguments, scope)) != test.Negated);
            case UnaryExpr unary:
                Value operand = Eval(unary.Operand, scope);
                return unary.Operator == "not" ? BoolValue.Of(!operand.IsTrue) : Arithmetic.Unary(unary.Operator, operand);
            case BinaryExpr { Operator: "and" } and:
                Value left = Eval(and.Left, scope);
                return left.IsTrue ? Eval(and.Right, scope) : left;
            case BinaryExpr { Operator: "or" } or:
                Value first = Eval(or.Left, scope);
                return first.IsTrue ? first : Eval(or.Right, scope);
            case BinaryExpr binary:
                return Arithmetic.Binary(this, binary.Operator, Eval(binary.Left, scope), Eval(binary.Right, scope));
            case CompareExpr compare:
                Value current = Eval(compare.First, scope);
                foreach ((string op, Expr next) in compare.Rest)
                {
                    Value right = Eval(next, scope);
                    if (!Arithmetic.Compare(op, current, right))
                    {
                        return BoolValue.False;
                    }
                    current = right;
                }
                return BoolValue.True;
            case ConditionalExpr conditional:
                if (Eval(conditional.Condition, scope).IsTrue)
                {
                    return Eval(conditional.Then, scope);
                }
                return conditional.Otherwise is null
                    ? new UndefinedValue("the inline if-expression evaluated to false and no else section was defined")
                    : Eval(conditional.Otherwise, scope);
            default:
                throw Errors.Runtime($"cannot evaluate {expr.GetType().Name}");
        }
    }

    private long? OptionalLong(Expr? expr, Scope scope)
    {
        if (expr is null)
        {
            return null;
        }
        Value v = Eval(expr, scope);
        return v is NoneValue ? null : ValueOps.ToLong(v);
    }

    public Arguments EvalArguments(ArgumentList list, Scope scope)
    {
        if (list.Positional.Count == 0 && list.Named.Count == 0)
        {
            return new Arguments([], []);
        }
        return new Arguments(
            [.. list.Positional.Select(e => Eval(e, scope))],
            [.. list.Named.Select(n => KeyValuePair.Create(n.Name, Eval(n.Value, scope)))]);
    }

    /// <summary>
    /// <c>x.name</c>: methods first (as Python attributes), then dict keys; a missing attribute is
    /// undefined, and so is any attribute of undefined (lenient, so <c>a.b.c is defined</c> works).
    /// </summary>
    public static Value GetAttribute(Value target, string name)
    {
        switch (target)
        {
            case NamespaceValue ns:
                return ns.TryGet(name, out Value? attr) ? attr : UndefinedValue.ForAttribute(target, name);
            case DictValue dict:
                return (Value?)Methods.TryBind(dict, name)
                    ?? (dict.TryGet(name, out Value? item) ? item : UndefinedValue.ForAttribute(target, name));
            case UndefinedValue:
                return target;
            default:
                return (Value?)Methods.TryBind(target, name) ?? UndefinedValue.ForAttribute(target, name);
        }
    }

    /// <summary><c>x[key]</c>: dict keys, list and string indexes (negative from the end); anything missing is undefined.</summary>
    public static Value GetItem(Value target, Value key)
    {
        switch (target)
        {
            case DictValue dict:
                if (key is not (ListValue { IsTuple: false } or DictValue) && dict.Items.TryGetValue(key, out Value? value))
                {
                    return value;
                }
                break;
            case ListValue list when ValueOps.IsInteger(key):
                long index = ValueOps.ToLong(key);
                if (index < 0)
                {
                    index += list.Items.Count;
                }
                if (index >= 0 && index < list.Items.Count)
                {
                    return list.Items[(int)index];
                }
                return new UndefinedValue($"{list.TypeName} index out of range");
            case StringValue s when ValueOps.IsInteger(key):
                string? c = PyString.At(s.Value, ValueOps.ToLong(key));
                return c is null ? new UndefinedValue("string index out of range") : StringValue.Of(c);
            case UndefinedValue:
                return target;
            default:
                break;
        }
        return key is StringValue name ? GetAttribute(target, name.Value) : new UndefinedValue($"'{target.TypeName} object' has no item {key.Repr()}");
    }

    private static Value Slice(Value target, long? start, long? stop, long? step)
    {
        switch (target)
        {
            case StringValue s:
                return StringValue.Of(PyString.Slice(s.Value, start, stop, step));
            case ListValue list:
                return new ListValue([.. PyString.SliceIndices(list.Items.Count, start, stop, step).Select(i => list.Items[i])], list.IsTuple);
            case UndefinedValue:
                return target;
            default:
                throw Errors.Runtime($"'{target.TypeName}' object is not subscriptable");
        }
    }

    public Value Call(Value callee, Arguments args) => callee switch
    {
        FunctionValue f => f.Invoke(this, args),
        UndefinedValue u => throw Errors.Undefined(u),
        _ => throw Errors.Runtime($"'{callee.TypeName}' object is not callable"),
    };

    private Value ApplyFilter(FilterExpr filter, Value input, Scope scope) =>
        ApplyFilter(filter.Name, input, EvalArguments(filter.Arguments, scope));

    public Value ApplyFilter(string name, Value input, Arguments args) =>
        Filters.TryGet(name, out Func<Interpreter, Value, Arguments, Value>? filter)
            ? filter(this, input, args)
            : throw Errors.Runtime($"no filter named '{name}'");

    public bool ApplyTest(string name, Value input, Arguments args) =>
        BuiltinTests.TryGet(name, out Func<Interpreter, Value, Arguments, bool>? test)
            ? test(this, input, args)
            : throw Errors.Runtime($"no test named '{name}'");
}
