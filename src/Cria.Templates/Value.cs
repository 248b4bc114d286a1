namespace Cria.Templates;

/// <summary>
/// A template value, modelled on the Python objects Jinja2 templates see: str, int, float, bool,
/// None, list/tuple, dict (insertion-ordered), namespace, callables, and Jinja's undefined.
/// <see cref="ToString"/> is Python's <c>str()</c> (what <c>{{ x }}</c> prints) and
/// <see cref="Repr"/> is <c>repr()</c> (how items print inside a list). Equality and hashing follow
/// Python (<c>1 == 1.0 == True</c>), so values can be dictionary keys.
/// </summary>
internal abstract class Value : IEquatable<Value>
{
    /// <summary>The Python type name used in error messages ("str", "int", "dict", ...).</summary>
    public abstract string TypeName { get; }

    /// <summary>Python truthiness.</summary>
    public virtual bool IsTrue => true;

    public abstract override string ToString();

    public virtual string Repr() => ToString();

    public bool Equals(Value? other) => other is not null && ValueOps.AreEqual(this, other);

    public override bool Equals(object? obj) => obj is Value v && Equals(v);

    public override int GetHashCode() => ValueOps.Hash(this);
}
