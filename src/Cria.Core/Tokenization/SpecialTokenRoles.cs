namespace Cria.Core.Tokenization;

/// <summary>
/// Which tokens end generation, and which must be control tokens, from the ids a vocabulary
/// declares plus llama.cpp's name heuristics (llama-vocab.cpp <c>load</c>, "auto-detect special
/// tokens by text"): converters often leave <c>eot_token_id</c> unset, so a token is recognised by
/// its text.
/// </summary>
internal static class SpecialTokenRoles
{
    private static readonly string[] s_endOfTurnNames =
        ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>"];

    private static readonly string[] s_endOfMessageNames = ["<|eom_id|>"];

    private static readonly string[] s_endOfGenerationNames =
        ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"];

    // fill-in-the-middle tokens: the first three only become control, the last three also end generation
    private static readonly string[][] s_fimNames =
    [
        ["<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>"],
        ["<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>"],
        ["<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>"],
        ["<|fim_pad|>", "<fim-pad>", "<PAD>"],
        ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"],
        ["<|file_sep|>"],
    ];

    /// <summary>
    /// Resolves EOT and EOM (by name when not declared), marks the named tokens as control in
    /// <paramref name="types"/>, and returns the end-of-generation flags [vocab].
    /// </summary>
    public static bool[] Resolve(Dictionary<string, int> ids, TokenType[] types, int eosId, ref int eotId, ref int eomId)
    {
        var eog = new bool[types.Length];
        if (eotId < 0)
        {
            eotId = FindAndMarkControl(ids, types, s_endOfTurnNames);
        }
        if (eomId < 0)
        {
            eomId = FindAndMarkControl(ids, types, s_endOfMessageNames);
        }
        for (int f = 0; f < s_fimNames.Length; f++)
        {
            int id = FindAndMarkControl(ids, types, s_fimNames[f]);
            if (id >= 0 && f >= 3)
            {
                eog[id] = true;
            }
        }
        foreach (string name in s_endOfGenerationNames)
        {
            if (ids.TryGetValue(name, out int id))
            {
                eog[id] = true;
                types[id] = TokenType.Control;
            }
        }
        foreach (int id in (ReadOnlySpan<int>)[eosId, eotId, eomId])
        {
            if ((uint)id < (uint)eog.Length)
            {
                eog[id] = true;
            }
        }
        return eog;
    }

    private static int FindAndMarkControl(Dictionary<string, int> ids, TokenType[] types, string[] names)
    {
        foreach (string name in names)
        {
            if (ids.TryGetValue(name, out int id))
            {
                types[id] = TokenType.Control;
                return id;
            }
        }
        return -1;
    }
}
