namespace Cria.Templates;

/// <summary>
/// How a template is lexed and the limits that keep a hostile template from hanging or exhausting
/// the server. The defaults are Hugging Face's <c>apply_chat_template</c> environment
/// (<c>trim_blocks=True, lstrip_blocks=True</c>, trailing newline dropped), which real chat
/// templates are written against.
/// </summary>
public sealed record TemplateOptions
{
    public static TemplateOptions Default { get; } = new();

    /// <summary>Remove the first newline after a block or comment tag (Jinja2 <c>trim_blocks</c>).</summary>
    public bool TrimBlocks { get; init; } = true;

    /// <summary>Strip spaces and tabs from the start of a line up to a block or comment tag (Jinja2 <c>lstrip_blocks</c>).</summary>
    public bool LstripBlocks { get; init; } = true;

    /// <summary>Keep a single newline at the very end of the template (Jinja2 <c>keep_trailing_newline</c>).</summary>
    public bool KeepTrailingNewline { get; init; }

    /// <summary>
    /// Also strip indentation before <c>{{ … }}</c> tags when <see cref="LstripBlocks"/> is on. Jinja2 does
    /// not; llama.cpp's minja engine (early 2025) did, and its golden outputs from then depend on it.
    /// Only for reproducing those.
    /// </summary>
    public bool LstripVariableTags { get; init; }

    /// <summary>Largest rendered output (and largest string built while rendering), in UTF-16 chars.</summary>
    public int MaxOutputChars { get; init; } = 16 * 1024 * 1024;

    /// <summary>Most loop iterations in one render, all loops together; also caps list sizes from <c>range</c> and <c>*</c>.</summary>
    public long MaxIterations { get; init; } = 1_000_000;

    /// <summary>Deepest macro call nesting (recursive macros).</summary>
    public int MaxCallDepth { get; init; } = 100;

    /// <summary>Clock for <c>strftime_now</c> (local time); replace it in tests.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
