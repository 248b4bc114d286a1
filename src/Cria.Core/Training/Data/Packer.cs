namespace Cria.Core.Training.Data;

/// <summary>What a dataset became: the counts printed before training.</summary>
public sealed record DatasetSummary
{
    public int Examples { get; init; }

    /// <summary>Tokens after truncation (what the model reads).</summary>
    public long Tokens { get; init; }

    /// <summary>Positions with a loss target.</summary>
    public long TrainableTokens { get; init; }

    /// <summary>Examples longer than the context, cut to it.</summary>
    public int Truncated { get; init; }

    /// <summary>Examples with nothing left to learn (e.g. the assistant turn fell past the context); they are left out.</summary>
    public int Dropped { get; init; }

    public int Windows { get; init; }

    public int Context { get; init; }
}

/// <summary>Packed windows and their summary.</summary>
public sealed record PackedDataset(IReadOnlyList<TrainingWindow> Windows, DatasetSummary Summary)
{
    /// <summary>
    /// A fingerprint of every window's tokens, targets and segments (FNV-1a 64), stored in checkpoints so
    /// a resumed run can tell it is reading the same data.
    /// </summary>
    public ulong Fingerprint()
    {
        ulong h = 14695981039346656037UL;
        void Add(int v)
        {
            for (int i = 0; i < 4; i++)
            {
                h = (h ^ (byte)(v >> (8 * i))) * 1099511628211UL;
            }
        }
        foreach (TrainingWindow w in Windows)
        {
            Add(w.Length);
            for (int t = 0; t < w.Length; t++)
            {
                Add(w.Tokens[t]);
                Add(w.Targets[t]);
                Add(w.SegmentStart[t]);
            }
        }
        return h;
    }
}

/// <summary>
/// Packs examples into context windows, in file order, first fit into the current window: an example
/// that does not fit the room left starts a new window, and one longer than the context is cut to it
/// (counted). Each example keeps its own BOS/EOS; attention and RoPE positions restart at each
/// example (see <see cref="TrainingWindow.SegmentStart"/>), so packing changes what a step costs, not
/// what each example's tokens see. Position t learns token t+1 when that token is learned and belongs
/// to the same example.
/// </summary>
public static class Packer
{
    public static PackedDataset Pack(IReadOnlyList<TokenizedExample> examples, int context)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 2);
        var windows = new List<TrainingWindow>();
        var tokens = new List<int>(context);
        var targets = new List<int>(context);
        var segs = new List<int>(context);
        long total = 0, trainable = 0;
        int truncated = 0, dropped = 0;

        void Flush()
        {
            if (tokens.Count > 0)
            {
                windows.Add(new TrainingWindow([.. tokens], [.. targets], [.. segs]));
                tokens.Clear();
                targets.Clear();
                segs.Clear();
            }
        }

        foreach (TokenizedExample e in examples)
        {
            int len = e.Tokens.Length;
            if (len > context)
            {
                len = context;
                truncated++;
            }
            int learned = 0;
            for (int i = 1; i < len; i++)
            {
                learned += e.Trainable[i] ? 1 : 0;
            }
            if (learned == 0 || len < 2)
            {
                dropped++;
                continue;
            }
            if (tokens.Count + len > context)
            {
                Flush();
            }
            int start = tokens.Count;
            for (int i = 0; i < len; i++)
            {
                tokens.Add(e.Tokens[i]);
                targets.Add(i + 1 < len && e.Trainable[i + 1] ? e.Tokens[i + 1] : -1);
                segs.Add(start);
            }
            total += len;
            trainable += learned;
        }
        Flush();
        var summary = new DatasetSummary
        {
            Examples = examples.Count,
            Tokens = total,
            TrainableTokens = trainable,
            Truncated = truncated,
            Dropped = dropped,
            Windows = windows.Count,
            Context = context,
        };
        return new PackedDataset(windows, summary);
    }

    /// <summary>Reads, encodes and packs a JSONL file.</summary>
    /// <exception cref="DatasetException">A malformed record (naming its line), or nothing to learn in the whole file.</exception>
    public static PackedDataset Load(string path, ExampleEncoder encoder, int context)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        List<TrainingRecord> records = JsonlReader.Read(path);
        var examples = new List<TokenizedExample>(records.Count);
        foreach (TrainingRecord r in records)
        {
            examples.Add(encoder.Encode(r, path));
        }
        PackedDataset packed = Pack(examples, context);
        if (packed.Windows.Count == 0)
        {
            throw new DatasetException(path, 0, "no record has a token to learn within the context");
        }
        return packed;
    }
}
