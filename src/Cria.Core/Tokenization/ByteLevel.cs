namespace Cria.Core.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map (openai/gpt-2 encoder.py <c>bytes_to_unicode</c>):
/// bytes that are printable Latin-1 characters stand for themselves, and the other 68 bytes are
/// given the characters U+0100.. in byte order, so every byte string is a printable string.
/// </summary>
internal static class ByteLevel
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly short[] s_charToByte = BuildCharToByte();

    public static char ToChar(byte b) => s_byteToChar[b];

    /// <summary>The byte a byte-level character stands for, or -1 when it is not one of the 256.</summary>
    public static int ToByte(int c) => (uint)c < (uint)s_charToByte.Length ? s_charToByte[c] : -1;

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[324]; // the highest mapped character is U+0143
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++)
        {
            map[s_byteToChar[b]] = (short)b;
        }
        return map;
    }
}
