namespace Cria.Templates;

/// <summary>Python's operators on template values: numbers promote int → float, str and list concatenate and repeat, mixed types are a TypeError.</summary>
internal static class Arithmetic
{
    public static Value Binary(Interpreter interpreter, string op, Value a, Value b)
    {
        if (op == "~")
        {
            string sa = a.ToString();
            string sb = b.ToString();
            interpreter.CheckSize((long)sa.Length + sb.Length);
            return StringValue.Of(sa + sb);
        }
        if (a is UndefinedValue ua)
        {
            throw Errors.Undefined(ua);
        }
        if (b is UndefinedValue ub)
        {
            throw Errors.Undefined(ub);
        }
        try
        {
            return op switch
            {
                "+" => Add(interpreter, a, b),
                "*" => Multiply(interpreter, a, b),
                "%" when a is StringValue format => StringValue.Of(PercentFormat.Format(format.Value, b)),
                _ => Numeric(op, a, b),
            };
        }
        catch (OverflowException)
        {
            throw Errors.Runtime($"integer overflow in {a.Repr()} {op} {b.Repr()}");
        }
    }

    private static Value Add(Interpreter interpreter, Value a, Value b)
    {
        switch (a, b)
        {
            case (StringValue x, StringValue y):
                interpreter.CheckSize((long)x.Value.Length + y.Value.Length);
                return StringValue.Of(x.Value + y.Value);
            case (ListValue x, ListValue y) when x.IsTuple == y.IsTuple:
                interpreter.CheckSize((long)x.Items.Count + y.Items.Count);
                return new ListValue([.. x.Items, .. y.Items], x.IsTuple);
            case (StringValue, _):
                throw Errors.Runtime($"can only concatenate str (not \"{b.TypeName}\") to str");
            case (ListValue x, _):
                throw Errors.Runtime($"can only concatenate {x.TypeName} (not \"{b.TypeName}\") to {x.TypeName}");
            default:
                return Numeric("+", a, b);
        }
    }

    private static Value Multiply(Interpreter interpreter, Value a, Value b)
    {
        if (ValueOps.IsInteger(b) && a is StringValue or ListValue)
        {
            (a, b) = (b, a);
        }
        if (ValueOps.IsInteger(a) && b is StringValue s)
        {
            long n = Math.Max(0, ValueOps.ToLong(a));
            interpreter.CheckSize(s.Value.Length == 0 ? 0 : n > int.MaxValue ? long.MaxValue : n * s.Value.Length);
            return StringValue.Of(string.Concat(Enumerable.Repeat(s.Value, (int)n)));
        }
        if (ValueOps.IsInteger(a) && b is ListValue l)
        {
            long n = Math.Max(0, ValueOps.ToLong(a));
            interpreter.CheckSize(l.Items.Count == 0 ? 0 : n > int.MaxValue ? long.MaxValue : n * l.Items.Count);
            return new ListValue([.. Enumerable.Repeat(l.Items, (int)n).SelectMany(x => x)], l.IsTuple);
        }
        return Numeric("*", a, b);
    }

    private static Value Numeric(string op, Value a, Value b)
    {
        if (!ValueOps.IsNumber(a) || !ValueOps.IsNumber(b))
        {
            throw Errors.Runtime($"unsupported operand type(s) for {op}: '{a.TypeName}' and '{b.TypeName}'");
        }
        if (ValueOps.IsInteger(a) && ValueOps.IsInteger(b))
        {
            long x = ValueOps.ToLong(a);
            long y = ValueOps.ToLong(b);
            switch (op)
            {
                case "+":
                    return IntValue.Of(checked(x + y));
                case "-":
                    return IntValue.Of(checked(x - y));
                case "*":
                    return IntValue.Of(checked(x * y));
                case "//" or "%":
                    if (y == 0)
                    {
                        throw Errors.Runtime("integer division or modulo by zero");
                    }
                    long q = x / y;
                    long r = x % y;
                    if (r != 0 && ((r < 0) != (y < 0)))
                    {
                        q--;
                        r += y;
                    }
                    return IntValue.Of(op == "//" ? q : r);
                case "**" when y >= 0:
                    // Exponentiation by squaring; checked so a huge power is an overflow error, not a wrong number.
                    long result = 1;
                    long power = x;
                    for (long e = y; e > 0; e >>= 1)
                    {
                        if ((e & 1) == 1)
                        {
                            result = checked(result * power);
                        }
                        if (e > 1)
                        {
                            power = checked(power * power);
                        }
                    }
                    return IntValue.Of(result);
                default:
                    break;
            }
        }
        double dx = ValueOps.ToDouble(a);
        double dy = ValueOps.ToDouble(b);
        switch (op)
        {
            case "+":
                return new FloatValue(dx + dy);
            case "-":
                return new FloatValue(dx - dy);
            case "*":
                return new FloatValue(dx * dy);
            case "**":
                return new FloatValue(Math.Pow(dx, dy));
            case "/" or "//" or "%" when dy == 0:
                throw Errors.Runtime(op == "/" ? "division by zero" : "float floor division or modulo by zero");
            case "/":
                return new FloatValue(dx / dy);
            case "//":
                return new FloatValue(Math.Floor(dx / dy));
            case "%":
                double m = dx - (dy * Math.Floor(dx / dy));
                return new FloatValue(m);
            default:
                throw Errors.Runtime($"unknown operator '{op}'");
        }
    }

    public static Value Unary(string op, Value v)
    {
        if (v is UndefinedValue u)
        {
            throw Errors.Undefined(u);
        }
        if (!ValueOps.IsNumber(v))
        {
            throw Errors.Runtime($"bad operand type for unary {op}: '{v.TypeName}'");
        }
        if (op == "+")
        {
            return v is BoolValue ? IntValue.Of(ValueOps.ToLong(v)) : v;
        }
        return v is FloatValue f ? new FloatValue(-f.Value) : IntValue.Of(checked(-ValueOps.ToLong(v)));
    }

    public static bool Compare(string op, Value a, Value b) => op switch
    {
        "==" => ValueOps.AreEqual(a, b),
        "!=" => !ValueOps.AreEqual(a, b),
        "<" => ValueOps.Compare(a, b, op) < 0,
        "<=" => ValueOps.Compare(a, b, op) <= 0,
        ">" => ValueOps.Compare(a, b, op) > 0,
        ">=" => ValueOps.Compare(a, b, op) >= 0,
        "in" => ValueOps.Contains(b, a),
        "not in" => !ValueOps.Contains(b, a),
        _ => throw Errors.Runtime($"unknown comparison '{op}'"),
    };
}
