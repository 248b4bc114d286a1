namespace Cria.Numerics.Quants;

/// <summary>
/// The 12-byte scales field of Q4_K and Q5_K: eight 6-bit scales and eight 6-bit mins, one pair per
/// 32-element sub-block (ggml's get_scale_min_k4). Bytes 0–3 hold scales 0–3 in their low 6 bits,
/// bytes 4–7 mins 0–3; bytes 8–11 hold the low nibbles of scale j+4 (low) and min j+4 (high), whose
/// top 2 bits ride in bits 6–7 of bytes j (scale) and j+4 (min).
/// </summary>
internal static class ScaleMinK4
{
    /// <summary>Scale and min of sub-block <paramref name="j"/> (0..7).</summary>
    public static void Get(ReadOnlySpan<byte> scales, int j, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = scales[j] & 63;
            min = scales[j + 4] & 63;
        }
        else
        {
            scale = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
            min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
        }
    }

    /// <summary>Packs eight 6-bit scales and mins (each 0..63) into the 12-byte field.</summary>
    public static void Pack(Span<byte> scales, ReadOnlySpan<byte> scale6, ReadOnlySpan<byte> min6)
    {
        for (int j = 0; j < 4; j++)
        {
            scales[j] = scale6[j];
            scales[j + 4] = min6[j];
        }
        for (int j = 4; j < 8; j++)
        {
            scales[j + 4] = (byte)((scale6[j] & 0xF) | ((min6[j] & 0xF) << 4));
            scales[j - 4] |= (byte)((scale6[j] >> 4) << 6);
            scales[j] |= (byte)((min6[j] >> 4) << 6);
        }
    }
}
