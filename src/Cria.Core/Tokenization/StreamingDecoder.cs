using System.Buffers;
using System.Text;

namespace Cria.Core.Tokenization;

/// <summary>
/// Turns tokens into text one at a time, as they are generated.
/// Invariant: every byte pushed is returned exactly once, in order, as text; the bytes held back
/// (<c>_pending</c>) are at most one incomplete but so far valid UTF-8 sequence (1–3 bytes), so a
/// character whose bytes span several tokens (an emoji as &lt;0xF0&gt;&lt;0x9F&gt;...) comes out whole, and
/// never as replacement characters. Bytes that cannot begin or continue a character come out at
/// once as U+FFFD.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _renderSpecial;
    private readonly byte[] _pending = new byte[4];
    private int _pendingCount;

    /// <param name="tokenizer">The tokenizer whose ids will be pushed.</param>
    /// <param name="renderSpecial">Write control tokens as their text (default: they add nothing).</param>
    public StreamingDecoder(Tokenizer tokenizer, bool renderSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _renderSpecial = renderSpecial;
    }

    /// <summary>Adds a token; returns the text it completes (possibly ""), never part of a character.</summary>
    public string Push(int id)
    {
        ReadOnlySpan<byte> piece = _tokenizer.TokenBytes(id, _renderSpecial);
        if (piece.IsEmpty)
        {
            return "";
        }
        if (_pendingCount == 0)
        {
            return DecodeComplete(piece);
        }
        int total = _pendingCount + piece.Length;
        byte[] rented = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            _pending.AsSpan(0, _pendingCount).CopyTo(rented);
            piece.CopyTo(rented.AsSpan(_pendingCount));
            _pendingCount = 0;
            return DecodeComplete(rented.AsSpan(0, total));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Returns whatever is held back (an incomplete character becomes U+FFFD) and empties the decoder.</summary>
    public string Flush()
    {
        if (_pendingCount == 0)
        {
            return "";
        }
        string text = Encoding.UTF8.GetString(_pending.AsSpan(0, _pendingCount));
        _pendingCount = 0;
        return text;
    }

    /// <summary>Drops anything held back.</summary>
    public void Reset() => _pendingCount = 0;

    /// <summary>Decodes <paramref name="bytes"/> up to a trailing incomplete character, which is kept in <c>_pending</c>.</summary>
    private string DecodeComplete(ReadOnlySpan<byte> bytes)
    {
        int complete = bytes.Length;
        // An incomplete character can only be the last 1-3 bytes; ask the decoder whether it is one.
        for (int start = Math.Max(0, bytes.Length - 3); start < bytes.Length; start++)
        {
            if (Rune.DecodeFromUtf8(bytes[start..], out _, out int consumed) == OperationStatus.NeedMoreData
                && start + consumed == bytes.Length)
            {
                complete = start;
                break;
            }
        }
        bytes[complete..].CopyTo(_pending);
        _pendingCount = bytes.Length - complete;
        return complete == 0 ? "" : Encoding.UTF8.GetString(bytes[..complete]);
    }
}
