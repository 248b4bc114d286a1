using System.Globalization;
using System.Security;
using System.Text;

namespace Cria.Core.Training;

/// <summary>
/// Draws a loss curve as a self-contained SVG (text only, no dependencies): training loss as a line,
/// evaluation loss as a line with dots, axes with step and loss ticks, a legend.
/// </summary>
public static class LossPlot
{
    private const double Width = 720, Height = 400;
    private const double Left = 64, Right = 16, Top = 36, Bottom = 44;

    public static string Svg(LossLog log, string title)
    {
        ArgumentNullException.ThrowIfNull(log);
        var train = log.Points.Where(p => p.TrainLoss is double d && double.IsFinite(d)).Select(p => (p.Step, p.TrainLoss!.Value)).ToList();
        var eval = log.Points.Where(p => p.EvalLoss is double d && double.IsFinite(d)).Select(p => (p.Step, p.EvalLoss!.Value)).ToList();
        var all = train.Concat(eval).ToList();
        int maxStep = Math.Max(1, all.Count > 0 ? all.Max(p => p.Step) : 1);
        double lo = all.Count > 0 ? all.Min(p => p.Item2) : 0;
        double hi = all.Count > 0 ? all.Max(p => p.Item2) : 1;
        if (hi - lo < 1e-9)
        {
            hi = lo + 1;
        }
        double pad = (hi - lo) * 0.05;
        lo = Math.Max(0, lo - pad);
        hi += pad;
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(int step) => Left + plotW * step / maxStep;
        double Y(double loss) => Top + plotH * (1 - (loss - lo) / (hi - lo));
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.Append(inv, $"<text x=\"{Width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{SecurityElement.Escape(title)}</text>\n");
        // Grid and ticks.
        for (int i = 0; i <= 5; i++)
        {
            double v = lo + (hi - lo) * i / 5;
            double y = Y(v);
            sb.Append(inv, $"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - Right}\" y2=\"{y:F1}\" stroke=\"#e0e0e0\"/>\n");
            sb.Append(inv, $"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:G4}</text>\n");
            int s = (int)Math.Round((double)maxStep * i / 5);
            double x = X(s);
            sb.Append(inv, $"<line x1=\"{x:F1}\" y1=\"{Height - Bottom}\" x2=\"{x:F1}\" y2=\"{Height - Bottom + 4}\" stroke=\"black\"/>\n");
            sb.Append(inv, $"<text x=\"{x:F1}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{s}</text>\n");
        }
        sb.Append(inv, $"<polyline points=\"{Left},{Top} {Left},{Height - Bottom} {Width - Right},{Height - Bottom}\" fill=\"none\" stroke=\"black\"/>\n");
        sb.Append(inv, $"<text x=\"{Left + plotW / 2}\" y=\"{Height - 6}\" text-anchor=\"middle\">step</text>\n");
        sb.Append(inv, $"<text x=\"14\" y=\"{Top + plotH / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {Top + plotH / 2})\">loss</text>\n");
        Line(sb, train, X, Y, "#1f77b4", dots: train.Count == 1);
        Line(sb, eval, X, Y, "#ff7f0e", dots: true);
        // Legend.
        double lx = Width - Right - 150, ly = Top + 8;
        sb.Append(inv, $"<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{lx + 24}\" y2=\"{ly}\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"{lx + 30}\" y=\"{ly + 4}\">train loss</text>\n");
        if (eval.Count > 0)
        {
            sb.Append(inv, $"<line x1=\"{lx}\" y1=\"{ly + 18}\" x2=\"{lx + 24}\" y2=\"{ly + 18}\" stroke=\"#ff7f0e\" stroke-width=\"2\"/><text x=\"{lx + 30}\" y=\"{ly + 22}\">eval loss</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, List<(int Step, double Loss)> points, Func<int, double> x, Func<double, double> y, string color, bool dots)
    {
        if (points.Count == 0)
        {
            return;
        }
        var inv = CultureInfo.InvariantCulture;
        sb.Append("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"").Append(color).Append("\" points=\"");
        foreach ((int step, double loss) in points)
        {
            sb.Append(inv, $"{x(step):F1},{y(loss):F1} ");
        }
        sb.Append("\"/>\n");
        if (dots)
        {
            foreach ((int step, double loss) in points)
            {
                sb.Append(inv, $"<circle cx=\"{x(step):F1}\" cy=\"{y(loss):F1}\" r=\"3\" fill=\"{color}\"/>\n");
            }
        }
    }
}
