namespace Cria.Templates;

/// <summary>
/// The functions every template can call: Jinja2's <c>range</c>, <c>namespace</c>, <c>dict</c>,
/// <c>joiner</c>, plus the two Hugging Face adds for chat templates, <c>raise_exception(msg)</c>
/// and <c>strftime_now(format)</c>.
/// </summary>
internal static class Globals
{
    public static Scope CreateScope(TemplateOptions options)
    {
        var scope = new Scope(null);
        scope.Set("range", new FunctionValue("range", Range));
        scope.Set("namespace", new FunctionValue("namespace", (_, args) => Fill(new NamespaceValue(), args, "namespace")));
        scope.Set("dict", new FunctionValue("dict", (_, args) => Fill(new DictValue(), args, "dict")));
        scope.Set("raise_exception", new FunctionValue("raise_exception", RaiseException));
        scope.Set("strftime_now", new FunctionValue("strftime_now", (_, args) =>
        {
            Value?[] a = args.Bind("strftime_now", "format");
            string format = a[0] is StringValue s ? s.Value : throw Errors.Runtime("strftime_now() needs a format string");
            return StringValue.Of(Strftime.Format(options.Clock.GetLocalNow(), format));
        }));
        scope.Set("joiner", new FunctionValue("joiner", Joiner));
        return scope;
    }

    private static Value RaiseException(Interpreter interpreter, Arguments args)
    {
        string message = args.Positional.Count > 0 ? args.Positional[0].ToString() : "raise_exception() called";
        throw new TemplateException(TemplateErrorKind.Raised, message);
    }

    private static Value Range(Interpreter interpreter, Arguments args)
    {
        if (args.Named.Count > 0 || args.Positional.Count is 0 or > 3)
        {
            throw Errors.Runtime("range() takes 1 to 3 positional arguments");
        }
        long[] n = [.. args.Positional.Select(ValueOps.ToLong)];
        (long start, long stop, long step) = n.Length switch
        {
            1 => (0L, n[0], 1L),
            2 => (n[0], n[1], 1L),
            _ => (n[0], n[1], n[2]),
        };
        if (step == 0)
        {
            throw Errors.Runtime("range() arg 3 must not be zero");
        }
        // Count without overflow: ceil((stop - start) / step) for the matching sign.
        decimal count = Math.Max(0m, Math.Ceiling(((decimal)stop - start) / step));
        if (count > interpreter.Options.MaxIterations)
        {
            throw Errors.Limit($"range() of {count} items exceeds the limit of {interpreter.Options.MaxIterations}");
        }
        var items = new List<Value>((int)count);
        for (long i = 0, v = start; i < (long)count; i++, v += step)
        {
            items.Add(IntValue.Of(v));
        }
        return new ListValue(items);
    }

    /// <summary><c>namespace(a=1)</c> / <c>dict(a=1)</c>; a positional dict is copied in first.</summary>
    private static Value Fill(DictValue target, Arguments args, string name)
    {
        if (args.Positional.Count > 1)
        {
            throw Errors.Runtime($"{name}() takes at most 1 positional argument");
        }
        if (args.Positional.Count == 1)
        {
            if (args.Positional[0] is not DictValue source)
            {
                throw Errors.Runtime($"{name}() positional argument must be a mapping, not {args.Positional[0].TypeName}");
            }
            foreach ((Value key, Value value) in source.Items)
            {
                target.Items[key] = value;
            }
        }
        foreach ((string key, Value value) in args.Named)
        {
            target.Set(key, value);
        }
        return target;
    }

    private static Value Joiner(Interpreter interpreter, Arguments args)
    {
        Value?[] a = args.Bind("joiner", "sep");
        string separator = a[0]?.ToString() ?? ", ";
        bool used = false;
        return new FunctionValue("joiner", (_, _) =>
        {
            if (!used)
            {
                used = true;
                return StringValue.Empty;
            }
            return StringValue.Of(separator);
        });
    }
}
