using System.Globalization;
using System.Text;

namespace Cria.Core.Tokenization;

/// <summary>
/// The bytes each token contributes to decoded text, computed once (llama.cpp's
/// <c>token_to_piece</c> cache): SentencePiece pieces with '▁' as ' ', &lt;0xNN&gt; tokens as their
/// byte, byte-level pieces mapped back through GPT-2's byte characters, and special tokens as
/// their text. Control and unknown tokens are kept apart so callers can choose to render them.
/// </summary>
internal sealed class PieceBytes
{
    private readonly byte[] _bytes;   // all pieces, concatenated
    private readonly int[] _offsets;  // [vocab + 1] piece i is _bytes[_offsets[i] .. _offsets[i + 1])
    private readonly bool[] _special; // [vocab] control or unknown: rendered only on request

    public PieceBytes(IReadOnlyList<string> texts, TokenType[] types, TokenizerKind kind)
    {
        var all = new List<byte>(texts.Count * 6);
        _offsets = new int[texts.Count + 1];
        _special = new bool[texts.Count];
        for (int id = 0; id < texts.Count; id++)
        {
            _offsets[id] = all.Count;
            _special[id] = types[id] is TokenType.Control or TokenType.Unknown;
            Append(texts[id], types[id], kind, all);
        }
        _offsets[texts.Count] = all.Count;
        _bytes = [.. all];
    }

    public ReadOnlySpan<byte> Get(int id, bool special)
    {
        if (_special[id] && !special)
        {
            return [];
        }
        return _bytes.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]);
    }

    private static void Append(string text, TokenType type, TokenizerKind kind, List<byte> output)
    {
        switch (type)
        {
            case TokenType.Control or TokenType.Unknown or TokenType.UserDefined:
                output.AddRange(Encoding.UTF8.GetBytes(text));
                return;
            case TokenType.Normal when kind == TokenizerKind.ByteLevelBpe:
                foreach (Rune r in text.EnumerateRunes())
                {
                    int b = ByteLevel.ToByte(r.Value);
                    if (b >= 0)
                    {
                        output.Add((byte)b);
                    }
                    else
                    {
                        // not a byte character: llama.cpp writes an [UNK_BYTE_..] marker; the text itself is more useful
                        output.AddRange(Encoding.UTF8.GetBytes(r.ToString()));
                    }
                }
                return;
            case TokenType.Normal:
                output.AddRange(Encoding.UTF8.GetBytes(text.Replace(EscapedTextEncoder.SpaceMark, ' ')));
                return;
            case TokenType.Byte when kind != TokenizerKind.ByteLevelBpe && TryParseByte(text, out byte value):
                output.Add(value);
                return;
            default:
                // unused and undefined tokens, and byte tokens in a byte-level vocabulary, print nothing (as in llama.cpp)
                return;
        }
    }

    /// <summary>Parses "&lt;0xNN&gt;".</summary>
    public static bool TryParseByte(string text, out byte value)
    {
        value = 0;
        return text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
            && byte.TryParse(text.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
    }
}
