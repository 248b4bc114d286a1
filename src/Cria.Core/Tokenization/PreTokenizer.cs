using System.Text.RegularExpressions;

namespace Cria.Core.Tokenization;

/// <summary>
/// Splits text into the words that byte-level BPE merges within, as a sequence of
/// <see cref="SplitStep"/>s: each step cuts every piece left by the one before (llama.cpp's
/// <c>unicode_regex_split</c> with a list of regexes).
/// </summary>
internal sealed class PreTokenizer
{
    private readonly SplitStep[] _steps;

    private PreTokenizer(string name, SplitStep[] steps)
    {
        Name = name;
        _steps = steps;
    }

    /// <summary>The llama.cpp pre-tokenizer this runs (tokenizer.ggml.pre), or "regex" for Hugging Face patterns.</summary>
    public string Name { get; }

    /// <summary>GPT-2's regex, and the step llama.cpp's default pre-tokenizer is built on.</summary>
    public static PreTokenizer Gpt2 { get; } = new("gpt-2", [new Gpt2Split()]);

    /// <summary>
    /// The pre-tokenizer llama.cpp uses for <paramref name="pre"/> (llama-vocab.cpp,
    /// <c>llm_tokenizer_bpe</c>); null when the name is unknown.
    /// </summary>
    public static PreTokenizer? ForLlamaCpp(string pre) => pre switch
    {
        "default" => new(pre,
        [
            new ClassSplit(CharClass.PunctuationAndSymbols, ClassPattern.Run),
            new Gpt2Split(),
            new ClassSplit(CharClass.Number, ClassPattern.Run),
            new ClassSplit(CharClass.AsciiDigit, ClassPattern.Three),
        ]),
        "llama3" or "llama-v3" or "llama-bpe" or "falcon3" or "dbrx" or "smaug-bpe" or "chatglm-bpe" => new(pre, [new Llama3Split(maxDigits: 3)]),
        "qwen2" or "deepseek-r1-qwen" or "megrez" or "stablelm2" => new(pre, [new Llama3Split(maxDigits: 1)]),
        "gpt-2" or "phi-2" or "jina-es" or "jina-de" or "gigachat" or "jina-v1-en" or "jina-v2-es" or "jina-v2-de"
            or "jina-v2-code" or "roberta-bpe" or "mpt" or "olmo" or "jais" => new(pre, [new Gpt2Split()]),
        "deepseek-llm" => new(pre,
        [
            new ClassSplit(CharClass.CrLf, ClassPattern.One),
            new ClassSplit(CharClass.DeepSeekLetter, ClassPattern.SpaceThenRun),
            new ClassSplit(CharClass.DeepSeekPunctuation, ClassPattern.SpaceThenRun),
            new TrailingSpaceSplit(),
            new ClassSplit(CharClass.DeepSeekCjk, ClassPattern.Run),
            new ClassSplit(CharClass.Number, ClassPattern.Run),
        ]),
        "deepseek-coder" => new(pre,
        [
            new ClassSplit(CharClass.CrLf, ClassPattern.One),
            new ClassSplit(CharClass.Letter, ClassPattern.SpaceThenRun),
            new ClassSplit(CharClass.Punctuation, ClassPattern.SpaceThenRun),
            new ClassSplit(CharClass.DeepSeekCjk, ClassPattern.Run),
            new ClassSplit(CharClass.Number, ClassPattern.One),
        ]),
        "falcon" => new(pre,
        [
            new ClassSplit(CharClass.PunctuationAndSymbolsWithBacktick, ClassPattern.Run),
            new Gpt2Split(),
            new ClassSplit(CharClass.AsciiDigit, ClassPattern.Three),
        ]),
        "starcoder" or "refact" or "command-r" or "smollm" or "codeshell" or "exaone" or "minerva-7b" => new(pre,
        [
            new ClassSplit(CharClass.Number, ClassPattern.One),
            new Gpt2Split(),
        ]),
        _ => null,
    };

    /// <summary>
    /// How long one match of a tokenizer file's pattern may run. Patterns are data from strangers: one built to
    /// backtrack catastrophically (<c>(a+)+$</c>) must end in an error, not stall a tokenizer for hours. Real
    /// pre-tokenizer patterns match a word in microseconds.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Hugging Face <c>Split</c> patterns run in order, each with .NET's regex engine.</summary>
    /// <param name="source">The tokenizer file, for the error message.</param>
    /// <exception cref="TokenizerException">A pattern is not a valid regular expression.</exception>
    public static PreTokenizer FromRegexes(IReadOnlyList<string> patterns, string source)
    {
        var steps = new SplitStep[patterns.Count];
        for (int i = 0; i < steps.Length; i++)
        {
            Regex regex;
            try
            {
                regex = new Regex(patterns[i], RegexOptions.CultureInvariant, MatchTimeout);
            }
            catch (ArgumentException e)
            {
                // A tokenizer file's pattern is data: an invalid one is the file's error (found by fuzz/run tokenizer-json).
                throw new TokenizerException($"{source}: pre-tokenizer split pattern {i} is not a valid regular expression: {e.Message}", e);
            }
            steps[i] = new RegexSplit(regex, source, i);
        }
        return new PreTokenizer("regex", steps);
    }

    /// <summary>Cuts <paramref name="text"/> into words, in order, covering it exactly.</summary>
    public void Split(CodepointText text, List<TextPiece> words, List<TextPiece> scratch)
    {
        words.Clear();
        if (text.Length == 0)
        {
            return;
        }
        words.Add(new TextPiece(0, text.Length));
        List<TextPiece> current = words;
        List<TextPiece> next = scratch;
        foreach (SplitStep step in _steps)
        {
            next.Clear();
            foreach (TextPiece piece in current)
            {
                step.Split(text, piece.Start, piece.End, next);
            }
            (current, next) = (next, current);
        }
        if (!ReferenceEquals(current, words))
        {
            words.Clear();
            words.AddRange(current);
        }
    }
}
