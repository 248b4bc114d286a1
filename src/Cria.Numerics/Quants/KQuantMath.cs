namespace Cria.Numerics.Quants;

/// <summary>
/// Scale searches behind the K-quant quantizers. They follow the reference quantizers (the path
/// taken without an importance matrix) in llama.cpp's ggml/src/ggml-quants.c — make_qx_quants,
/// make_q3_quants and make_qkx2_quants — so the error we get is the error llama-quantize gets.
/// Sums are single precision in element order, as there.
/// </summary>
internal static class KQuantMath
{
    /// <summary>A group whose largest magnitude is below this quantizes to zeros (ggml's GROUP_MAX_EPS).</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>Round to nearest, ties to even: ggml's <c>nearest_int</c> (which adds 1.5·2²³).</summary>
    public static int NearestInt(float value)
    {
        return (int)MathF.Round(value, MidpointRounding.ToEven);
    }

    /// <summary>
    /// Symmetric fit x ≈ scale·(L − nmax), L in [0, 2·nmax), each error weighted by x² (ggml's
    /// make_qx_quants with rmse_type 1). The first guess puts the signed largest magnitude on the
    /// extra negative level −nmax; 18 inverse scales around it are tried and the one whose
    /// least-squares scale explains the most weighted energy (Σwxl)²/Σwl² wins.
    /// </summary>
    /// <param name="x">The group, [n].</param>
    /// <param name="levels">Out: L per element, [n].</param>
    /// <param name="scratch">Scratch, [n].</param>
    /// <returns>The scale; negative when the largest magnitude is positive.</returns>
    public static float MakeQxQuants(ReadOnlySpan<float> x, int nmax, Span<byte> levels, Span<byte> scratch)
    {
        float max = SignedAbsMax(x, out float amax);
        if (amax < GroupMaxEps)
        {
            levels.Clear();
            return 0f;
        }

        FitSymmetric(x, nmax, -nmax / max, levels, out float sumlx, out float suml2);
        float scale = suml2 != 0f ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }
            float iscale = -(nmax + (0.1f * step)) / max;
            FitSymmetric(x, nmax, iscale, scratch, out sumlx, out suml2);
            if (suml2 > 0f && sumlx * sumlx > best * suml2)
            {
                scratch[..x.Length].CopyTo(levels);
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /// <summary>
    /// Symmetric fit x ≈ scale·(L − nmax), L in [0, 2·nmax), refined one element at a time (ggml's
    /// make_q3_quants with do_rmse): starting from scale = −max/nmax, each element moves to the level
    /// the least-squares scale of the others asks for when that raises (Σwxl)²/Σwl², w = x²; up to 5 passes.
    /// </summary>
    /// <param name="x">The group, [n].</param>
    /// <param name="levels">Out: L per element, [n].</param>
    public static float MakeQ3Quants(ReadOnlySpan<float> x, int nmax, Span<byte> levels)
    {
        float max = SignedAbsMax(x, out float amax);
        if (amax < GroupMaxEps)
        {
            levels.Clear();
            return 0f;
        }

        // Signed levels in [−nmax, nmax) while searching; shifted by nmax at the end.
        Span<sbyte> l = stackalloc sbyte[x.Length];
        float iscale = -nmax / max;
        float sumlx = 0f;
        float suml2 = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            int li = Math.Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
            l[i] = (sbyte)li;
            float w = x[i] * x[i];
            sumlx += w * x[i] * li;
            suml2 += w * li * li;
        }

        for (int pass = 0; pass < 5; pass++)
        {
            int changed = 0;
            for (int i = 0; i < x.Length; i++)
            {
                float w = x[i] * x[i];
                float slx = sumlx - (w * x[i] * l[i]);
                if (slx <= 0f)
                {
                    continue;
                }
                float sl2 = suml2 - (w * l[i] * l[i]);
                int candidate = Math.Clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (candidate == l[i])
                {
                    continue;
                }
                slx += w * x[i] * candidate;
                sl2 += w * candidate * candidate;
                if (sl2 > 0f && slx * slx * suml2 > sumlx * sumlx * sl2)
                {
                    l[i] = (sbyte)candidate;
                    sumlx = slx;
                    suml2 = sl2;
                    changed++;
                }
            }
            if (changed == 0)
            {
                break;
            }
        }

        for (int i = 0; i < x.Length; i++)
        {
            levels[i] = (byte)(l[i] + nmax);
        }
        return suml2 > 0f ? sumlx / suml2 : 0f;
    }

    /// <summary>
    /// Affine fit x ≈ scale·L − theMin, L in [0, nmax], theMin ≥ 0 (ggml's make_qkx2_quants).
    /// Starts from the min/max grid, then for nstep+1 inverse scales (nmax + rmin + rdelta·k)/(max − min)
    /// rounds, solves the weighted least-squares scale and offset for those levels, and keeps the
    /// candidate with the smallest weighted error (absolute when <paramref name="useMad"/>, else squared).
    /// </summary>
    /// <param name="x">The group, [n].</param>
    /// <param name="weights">Error weight per element, [n].</param>
    /// <param name="levels">Out: L per element, [n].</param>
    /// <param name="scratch">Scratch, [n].</param>
    /// <param name="theMin">Out: the offset subtracted after scaling (≥ 0).</param>
    public static float MakeQkx2Quants(
        ReadOnlySpan<float> x, ReadOnlySpan<float> weights, int nmax, Span<byte> levels, Span<byte> scratch,
        out float theMin, float rmin, float rdelta, int nstep, bool useMad)
    {
        int n = x.Length;
        float min = x[0];
        float max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            // Plain comparisons, not Math.Min/Max: a −0 must not replace a +0 (the sign reaches the stored min).
            if (x[i] < min)
            {
                min = x[i];
            }
            if (x[i] > max)
            {
                max = x[i];
            }
            sumW += weights[i];
            sumX += weights[i] * x[i];
        }
        if (min > 0f)
        {
            min = 0f;
        }
        if (max == min)
        {
            levels.Clear();
            theMin = -min;
            return 0f;
        }

        float iscale = nmax / (max - min);
        float scale = 1f / iscale;
        float bestError = 0f;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
            levels[i] = (byte)l;
            bestError += weights[i] * Error((scale * l) + min - x[i], useMad);
        }

        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + (rdelta * step) + nmax) / (max - min);
            float sumL = 0f;
            float sumL2 = 0f;
            float sumXL = 0f;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
                scratch[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            float det = (sumW * sumL2) - (sumL * sumL);
            if (det <= 0f)
            {
                continue;
            }
            float thisScale = ((sumW * sumXL) - (sumX * sumL)) / det;
            float thisMin = ((sumL2 * sumX) - (sumL * sumXL)) / det;
            if (thisMin > 0f)
            {
                thisMin = 0f;
                thisScale = sumXL / sumL2;
            }
            float error = 0f;
            for (int i = 0; i < n; i++)
            {
                error += weights[i] * Error((thisScale * scratch[i]) + thisMin - x[i], useMad);
            }
            if (error < bestError)
            {
                scratch[..n].CopyTo(levels);
                bestError = error;
                scale = thisScale;
                min = thisMin;
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>The element of largest magnitude, with its sign (the first one on ties).</summary>
    private static float SignedAbsMax(ReadOnlySpan<float> x, out float amax)
    {
        float max = 0f;
        amax = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        return max;
    }

    private static void FitSymmetric(
        ReadOnlySpan<float> x, int nmax, float iscale, Span<byte> levels, out float sumlx, out float suml2)
    {
        sumlx = 0f;
        suml2 = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            int l = Math.Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (byte)(l + nmax);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
    }

    private static float Error(float diff, bool useMad)
    {
        return useMad ? MathF.Abs(diff) : diff * diff;
    }
}
