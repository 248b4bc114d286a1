using System.Text;

namespace Cria.Core.Tokenization;

/// <summary>
/// A UTF-16 text decoded into code points, so that pre-tokenizers can index characters as
/// llama.cpp's do (one index per code point; a surrogate pair is one). A lone surrogate becomes
/// U+FFFD, as llama.cpp turns invalid UTF-8 into U+FFFD.
/// </summary>
internal sealed class CodepointText
{
    private int[] _cps = [];
    private int[] _charStart = [0];

    /// <summary>Number of code points.</summary>
    public int Length { get; private set; }

    public int this[int index] => _cps[index];

    /// <summary>UTF-16 index where code point <paramref name="index"/> starts; index == Length gives the text length.</summary>
    public int CharStart(int index) => _charStart[index];

    public void Load(ReadOnlySpan<char> text)
    {
        if (_cps.Length < text.Length)
        {
            _cps = new int[text.Length];
            _charStart = new int[text.Length + 1];
        }
        int n = 0;
        int i = 0;
        while (i < text.Length)
        {
            _charStart[n] = i;
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                _cps[n++] = char.ConvertToUtf32(c, text[i + 1]);
                i += 2;
            }
            else
            {
                _cps[n++] = char.IsSurrogate(c) ? Codepoints.Replacement : c;
                i++;
            }
        }
        _charStart[n] = i;
        Length = n;
    }

    /// <summary>Appends the UTF-8 bytes of code points [start, end) to <paramref name="bytes"/>.</summary>
    public void AppendUtf8(int start, int end, List<byte> bytes)
    {
        Span<byte> buf = stackalloc byte[4];
        for (int i = start; i < end; i++)
        {
            int n = new Rune(_cps[i]).EncodeToUtf8(buf);
            for (int k = 0; k < n; k++)
            {
                bytes.Add(buf[k]);
            }
        }
    }
}
