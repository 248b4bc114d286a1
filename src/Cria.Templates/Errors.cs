namespace Cria.Templates;

/// <summary>Builds the unlocated exceptions that the interpreter later stamps with the failing node's position.</summary>
internal static class Errors
{
    public static TemplateException Runtime(string reason) => new(TemplateErrorKind.Runtime, reason);

    public static TemplateException Limit(string reason) => new(TemplateErrorKind.Limit, reason);

    public static TemplateException Undefined(UndefinedValue value) => new(TemplateErrorKind.Runtime, value.Hint);
}
