namespace Cria.Bench;

/// <summary>
/// One inference engine holding one sequence. Invariant: the engine's cache holds exactly the
/// tokens fed since the last <see cref="Reset"/>, in order.
/// </summary>
internal interface IEngine : IDisposable
{
    string Name { get; }

    int VocabSize { get; }

    /// <summary>Token ids of <paramref name="text"/>, with BOS when the vocabulary adds one and <paramref name="addSpecial"/> is set.</summary>
    int[] Tokenize(string text, bool addSpecial);

    /// <summary>Forgets every token fed so far.</summary>
    void Reset();

    /// <summary>Feeds <paramref name="tokens"/> after those already fed; returns the logits of the last one ([vocab], valid until the next call).</summary>
    ReadOnlySpan<float> Feed(scoped ReadOnlySpan<int> tokens);
}
