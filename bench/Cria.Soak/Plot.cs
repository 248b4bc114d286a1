using System.Globalization;

namespace Cria.Soak;

/// <summary>
/// docs/soak.png: one panel per judged resource over the run's time. Grey: the warm-up; blue: the two windows
/// whose medians are compared; dashed green: the first window's median; dashed red: the limit, 5% above it.
/// </summary>
internal static class Plot
{
    private const int Width = 1200;
    private const int PanelHeight = 210;
    private const int Top = 70;
    private const int Left = 110;
    private const int Right = 30;
    private const int Gap = 60;

    private static readonly (byte, byte, byte) s_white = (255, 255, 255);
    private static readonly (byte, byte, byte) s_black = (20, 20, 20);
    private static readonly (byte, byte, byte) s_grid = (225, 225, 225);
    private static readonly (byte, byte, byte) s_warmup = (236, 236, 236);
    private static readonly (byte, byte, byte) s_window = (218, 232, 250);
    private static readonly (byte, byte, byte) s_line = (30, 90, 200);
    private static readonly (byte, byte, byte) s_baseline = (20, 150, 60);
    private static readonly (byte, byte, byte) s_limit = (210, 40, 40);

    /// <param name="title">The first line, above the panels (time runs left to right, in seconds since the load began).</param>
    public static void Write(string path, IReadOnlyList<Sample> samples, IReadOnlyList<Growth> growths, double seconds, double warmup, string title)
    {
        int height = Top + (growths.Count * (PanelHeight + Gap)) + 30;
        var c = new Canvas(Width, height, s_white);
        c.Text(Left, 12, title, s_black);
        (double warmupEnd, double window) = Verdict.Windows(seconds, warmup);
        double end = samples[^1].Seconds;
        double xMax = Math.Max(end, 1);
        int plotWidth = Width - Left - Right;
        int X(double t) => Left + (int)Math.Round(t / xMax * plotWidth);

        for (int p = 0; p < growths.Count; p++)
        {
            Growth g = growths[p];
            int y0 = Top + (p * (PanelHeight + Gap));
            double limit = g.Baseline * (1 + (Verdict.MaxGrowthPercent / 100));
            double lo = Math.Min(samples.Min(g.Read), g.Baseline);
            double hi = Math.Max(samples.Max(g.Read), limit);
            double pad = Math.Max((hi - lo) * 0.08, Math.Abs(hi) * 0.01 + 1e-9);
            lo = Math.Max(0, lo - pad);
            hi += pad;
            int Y(double v) => y0 + PanelHeight - (int)Math.Round((v - lo) / (hi - lo) * PanelHeight);

            c.Fill(X(0), y0, X(warmupEnd) - X(0), PanelHeight, s_warmup);
            c.Fill(X(warmupEnd), y0, X(warmupEnd + window) - X(warmupEnd), PanelHeight, s_window);
            c.Fill(X(end - window), y0, X(end) - X(end - window), PanelHeight, s_window);
            double step = NiceStep((hi - lo) / 4);
            for (double v = Math.Ceiling(lo / step) * step; v <= hi; v += step)
            {
                c.Line(Left, Y(v), Width - Right, Y(v), s_grid);
                string label = v.ToString(step < 1 ? "F1" : "F0", CultureInfo.InvariantCulture);
                c.Text(Left - 10 - Canvas.TextWidth(label), Y(v) - 7, label, s_black);
            }
            double tStep = NiceStep(xMax / 12);
            for (double t = 0; t <= xMax; t += tStep)
            {
                string label = t.ToString("F0", CultureInfo.InvariantCulture);
                c.Line(X(t), y0 + PanelHeight, X(t), y0 + PanelHeight + 5, s_black);
                c.Text(X(t) - (Canvas.TextWidth(label) / 2), y0 + PanelHeight + 10, label, s_black);
            }
            c.Line(Left, Y(g.Baseline), Width - Right, Y(g.Baseline), s_baseline, dash: 8);
            c.Line(Left, Y(limit), Width - Right, Y(limit), s_limit, dash: 8);
            for (int i = 1; i < samples.Count; i++)
            {
                c.Line(X(samples[i - 1].Seconds), Y(g.Read(samples[i - 1])), X(samples[i].Seconds), Y(g.Read(samples[i])), s_line);
            }
            // Frame, then the panel's caption in its top-left corner.
            c.Line(Left, y0, Width - Right, y0, s_black);
            c.Line(Left, y0 + PanelHeight, Width - Right, y0 + PanelHeight, s_black);
            c.Line(Left, y0, Left, y0 + PanelHeight, s_black);
            c.Line(Width - Right, y0, Width - Right, y0 + PanelHeight, s_black);
            string unit = g.Unit.Length > 0 ? $" ({g.Unit})" : "";
            string caption = string.Create(CultureInfo.InvariantCulture,
                $"{g.Name}{unit}: {g.Baseline:F1} -> {g.Final:F1}, {g.Percent:+0.0;-0.0;0.0}% {(g.Ok ? "OK" : "OVER 5%")}");
            c.Fill(Left + 4, y0 + 4, Canvas.TextWidth(caption) + 8, 22, s_white);
            c.Text(Left + 8, y0 + 8, caption, g.Ok ? s_black : s_limit);
        }
        c.Text(Left, height - 36, "x: seconds. grey: warm-up. blue: windows compared. green: their first median. red: +5%", s_black);
        c.SavePng(path);
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="rough"/>.</summary>
    private static double NiceStep(double rough)
    {
        if (rough <= 0 || double.IsNaN(rough))
        {
            return 1;
        }
        double p = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double m = rough / p;
        return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    }
}
