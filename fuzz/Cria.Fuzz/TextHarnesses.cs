using System.Text;

using Cria.Grammar;
using Cria.Hub.Modelfiles;
using Cria.Templates;

namespace Cria.Fuzz;

/// <summary>The text formats: chat templates, Modelfiles, GBNF grammars and JSON schemas.</summary>
public static class TextHarnesses
{
    private static readonly ChatMessage[] s_conversation =
    [
        ChatMessage.System("You are terse."),
        ChatMessage.User("Hello <s> there"),
        ChatMessage.Assistant("Hi."),
        ChatMessage.User("What is 2+2?"),
    ];

    private static readonly ByteVocabulary s_bytes = new();

    /// <summary>
    /// A chat template as a GGUF's <c>tokenizer.chat_template</c> arrives: parsed and probed (<see cref="ChatTemplate"/>'s
    /// constructor renders its probes), then rendered over a small fixed conversation.
    /// </summary>
    public static void Jinja(byte[] input)
    {
        try
        {
            var template = new ChatTemplate(Encoding.UTF8.GetString(input));
            _ = template.Render(s_conversation, addGenerationPrompt: true, "<s>", "</s>");
        }
        catch (TemplateException)
        {
        }
    }

    /// <summary>A Modelfile, as <c>cria create -f</c> parses one.</summary>
    public static void Modelfile(byte[] input)
    {
        try
        {
            _ = Hub.Modelfiles.Modelfile.Parse(Encoding.UTF8.GetString(input));
        }
        catch (ModelfileException)
        {
        }
    }

    /// <summary>A GBNF grammar (a request's <c>grammar</c>): compiled, then followed for a few steps as generation would.</summary>
    public static void Gbnf(byte[] input)
    {
        CompiledGrammar grammar;
        try
        {
            grammar = CompiledGrammar.Parse(Encoding.UTF8.GetString(input));
        }
        catch (GrammarException)
        {
            return;
        }
        Follow(grammar);
    }

    /// <summary>A JSON schema (a request's <c>response_format</c>): converted to a grammar, compiled and followed.</summary>
    public static void JsonSchema(byte[] input)
    {
        CompiledGrammar grammar;
        try
        {
            grammar = CompiledGrammar.FromJsonSchema(Encoding.UTF8.GetString(input));
        }
        catch (GrammarException)
        {
            return;
        }
        Follow(grammar);
    }

    /// <summary>
    /// Generation under a grammar over a vocabulary of the 256 bytes and an end token: mask, take an allowed
    /// token (the one after the previous choice, so the walk is deterministic and varied), accept it, until
    /// the text may end or 64 steps. No allowed token at all is the grammar's own error.
    /// </summary>
    private static void Follow(CompiledGrammar grammar)
    {
        GrammarMatcher matcher = grammar.CreateMatcher(s_bytes);
        var logits = new float[s_bytes.VocabSize];
        int previous = 0;
        try
        {
            for (int step = 0; step < 64 && !matcher.IsComplete; step++)
            {
                Array.Clear(logits);
                if (matcher.Mask(logits) == 0)
                {
                    throw new FuzzFinding("Mask allowed no token but did not throw");
                }
                int token = NextAllowed(logits, previous);
                if (token == ByteVocabulary.EndOfText)
                {
                    return;
                }
                if (!matcher.IsAllowed(token))
                {
                    throw new FuzzFinding($"Mask allowed token {token} but IsAllowed says no");
                }
                matcher.Accept(token);
                previous = token;
            }
        }
        catch (GrammarException)
        {
        }
    }

    private static int NextAllowed(float[] logits, int previous)
    {
        for (int i = 1; i <= logits.Length; i++)
        {
            int token = (previous + 37 * i) % logits.Length;
            if (!float.IsNegativeInfinity(logits[token]))
            {
                return token;
            }
        }
        throw new FuzzFinding("Mask reported allowed tokens but left none");
    }

    /// <summary>Token i &lt; 256 is the byte i; 256 ends the text.</summary>
    private sealed class ByteVocabulary : ITokenVocabulary
    {
        public const int EndOfText = 256;

        private static readonly byte[] s_bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        public int VocabSize => 257;

        public bool IsEndOfGeneration(int id) => id == EndOfText;

        public ReadOnlySpan<byte> TokenBytes(int id) => id is >= 0 and < EndOfText ? s_bytes.AsSpan(id, 1) : default;
    }
}
