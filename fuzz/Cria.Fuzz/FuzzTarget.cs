namespace Cria.Fuzz;

/// <summary>
/// One input format and its harness: the bytes go to the real parser, the parser's own documented
/// error (a format exception with a message) is the expected way to refuse them, and anything else
/// that escapes the harness is a finding.
/// </summary>
/// <param name="Name">The name <c>fuzz/run</c> and the corpus folders use (<c>fuzz/corpus/NAME/</c>).</param>
/// <param name="Run">The harness.</param>
/// <param name="Description">What the harness feeds its input to.</param>
public sealed record FuzzTarget(string Name, Action<byte[]> Run, string Description);
