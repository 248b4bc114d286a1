using System.Text;

using Cria.Numerics.Memory;

namespace Cria.Core.Conversion;

/// <summary>
/// llama2.c's tokenizer.bin: int32 max_token_length, then per token a float32 score, an int32 byte
/// length and the UTF-8 bytes. Its exporter wrote SentencePiece's '▁' as a plain space and the
/// BOS/EOS pieces as "\n&lt;s&gt;\n" / "\n&lt;/s&gt;\n"; <see cref="Read"/> undoes both, so the
/// pieces are SentencePiece pieces again.
/// </summary>
public sealed class Llama2cTokenizerFile
{
    // GGUF token types (llama.cpp's llama_token_type).
    public const int Normal = 1;
    public const int Unknown = 2;
    public const int Control = 3;
    public const int Byte = 6;

    private Llama2cTokenizerFile(string[] pieces, float[] scores, int[] types)
    {
        Pieces = pieces;
        Scores = scores;
        Types = types;
    }

    public string[] Pieces { get; }

    public float[] Scores { get; }

    public int[] Types { get; }

    public static Llama2cTokenizerFile Read(string path, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 3);
        using MappedFile f = MappedFile.Open(path);
        long pos = 0;
        int maxLen = ReadInt(f, ref pos, path, "max_token_length");
        if (maxLen <= 0 || maxLen > 1 << 16)
        {
            throw new ConversionException(path, "max_token_length", 0, $"{maxLen} is not a plausible token length");
        }
        var pieces = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            long at = pos;
            if (!f.Contains(pos, 8))
            {
                throw new ConversionException(path, $"token {i}", at, $"file ends after {i} tokens; the model's vocabulary has {vocabSize}");
            }
            scores[i] = f.Read<float>(pos);
            int len = f.Read<int>(pos + 4);
            pos += 8;
            if (len < 0 || len > maxLen || !f.Contains(pos, len))
            {
                throw new ConversionException(path, $"token {i} length", at + 4, $"length {len} is negative, above max_token_length {maxLen}, or past the end of the file");
            }
            string text = Encoding.UTF8.GetString(f.Span(pos, len));
            pos += len;
            (pieces[i], types[i]) = Classify(i, text);
        }
        return new Llama2cTokenizerFile(pieces, scores, types);
    }

    private static (string Piece, int Type) Classify(int id, string text)
    {
        if (id == 0)
        {
            return ("<unk>", Unknown);
        }
        if (id is 1 or 2)
        {
            return (id == 1 ? "<s>" : "</s>", Control);
        }
        if (text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>')
        {
            return (text, Byte);
        }
        return (text.Replace(' ', '\u2581'), Normal);
    }

    private static int ReadInt(MappedFile f, ref long pos, string path, string field)
    {
        if (!f.Contains(pos, 4))
        {
            throw new ConversionException(path, field, pos, "file is truncated");
        }
        int v = f.Read<int>(pos);
        pos += 4;
        return v;
    }
}
