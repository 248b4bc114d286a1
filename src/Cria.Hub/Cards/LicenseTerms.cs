using Cria.Hub.Manifests;

namespace Cria.Hub.Cards;

/// <summary>What a licence asks of someone who redistributes a model or a derivative of it.</summary>
/// <param name="Id">The short id (<see cref="LicenseNames"/>).</param>
/// <param name="Title">The licence's name.</param>
/// <param name="Notice">Text that must ship in a "Notice" file with copies, or null.</param>
/// <param name="Attribution">What must be displayed prominently (e.g. "Built with Llama"), or null.</param>
/// <param name="NamePrefix">The prefix a distributed derivative's name must start with, or null.</param>
/// <param name="UsePolicy">The acceptable use policy the licence incorporates, or null.</param>
/// <param name="Notes">Other clauses a user should know (the 700M monthly-active-users clause, output restrictions…).</param>
public sealed record LicenseObligations(string Id, string Title, string? Notice, string? Attribution, string? NamePrefix, string? UsePolicy, IReadOnlyList<string> Notes);

/// <summary>
/// The obligations of the common open-weight licences, from their primary texts (Meta's
/// llama-models LICENSE files for Llama 2, 3, 3.1, 3.2, 3.3 and 4; Apache-2.0; MIT; the Gemma Terms
/// of Use notice) as summarized in the team's GOVERNANCE.md §1 — and the checks <c>cria push</c> applies
/// to a derivative: every Notice its licences require is present, and its name starts as the Llama
/// 3+ licences require. (Whether a quantized copy counts as a derivative for the naming rule is not
/// settled; Cria applies the rule to fine-tunes, adapters and merges only, and asks for the Notice always.)
/// </summary>
public static class LicenseTerms
{
    private const string Mau = "If you (with affiliates) had more than 700 million monthly active users on the version's release date, you must ask Meta for a licence (§2).";

    private static readonly Dictionary<string, LicenseObligations> s_terms = new(StringComparer.Ordinal)
    {
        ["llama2"] = new("llama2", "Llama 2 Community License",
            "Llama 2 is licensed under the LLAMA 2 Community License, Copyright (c) Meta Platforms, Inc. All Rights Reserved.",
            null, null, "https://ai.meta.com/llama/use-policy",
            ["Give a copy of the licence to anyone you redistribute to (§1.b.i).", Mau,
             "Do not use Llama 2 or its outputs to improve any other large language model (excluding Llama 2 and its derivatives) (§1.b.v)."]),
        ["llama3"] = new("llama3", "Meta Llama 3 Community License",
            "Meta Llama 3 is licensed under the Meta Llama 3 Community License, Copyright © Meta Platforms, Inc. All Rights Reserved.",
            "Built with Meta Llama 3", "Llama 3", "https://llama.meta.com/llama3/use-policy",
            ["Give a copy of the licence to anyone you redistribute to (§1.b.i).", Mau,
             "Do not use Meta Llama 3 or its outputs to improve any other large language model (excluding Llama 3 and its derivatives) (§1.b.v)."]),
        ["llama3.1"] = Llama3x("3.1", "https://llama.meta.com/llama3_1/use-policy"),
        ["llama3.2"] = Llama3x("3.2", "https://www.llama.com/llama3_2/use-policy"),
        ["llama3.3"] = Llama3x("3.3", "https://www.llama.com/llama3_3/use-policy"),
        ["llama4"] = Llama3x("4", "https://www.llama.com/llama4/use-policy"),
        ["gemma"] = new("gemma", "Gemma Terms of Use",
            "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms",
            null, null, "https://ai.google.dev/gemma/prohibited_use_policy",
            ["Pass the use restrictions of the Prohibited Use Policy on to anyone you distribute a Model Derivative to.",
             "Models trained on Gemma's outputs (distillation, synthetic data) are Model Derivatives; serving Gemma through an API counts as distribution."]),
        ["apache-2.0"] = new("apache-2.0", "Apache License 2.0", null, null, null, null,
            ["Give recipients a copy of the licence; keep copyright, patent, trademark and attribution notices and any NOTICE file's text (§4).",
             "Mark files you changed with a prominent notice (§4.b)."]),
        ["mit"] = new("mit", "MIT License", null, null, null, null,
            ["Include the copyright notice and the permission notice in all copies or substantial portions."]),
    };

    private static LicenseObligations Llama3x(string version, string policy) => new(
        version == "4" ? "llama4" : "llama" + version, $"Llama {version} Community License",
        $"Llama {version} is licensed under the Llama {version} Community License, Copyright © Meta Platforms, Inc. All Rights Reserved.",
        "Built with Llama", "Llama", policy,
        ["Give a copy of the licence to anyone you redistribute to (§1.b.i).", Mau,
         "A model trained, fine-tuned or improved with the Llama Materials or their outputs, when distributed, must have a name that begins with \"Llama\" (§1.b.i)."]);

    /// <summary>The obligations of a licence given by text or short id; null when Cria does not know it.</summary>
    public static LicenseObligations? For(string licenseTextOrId) =>
        s_terms.TryGetValue(LicenseNames.ShortName(licenseTextOrId), out LicenseObligations? o) ? o : null;

    /// <summary>The known obligations of a set of licences, each once.</summary>
    public static IReadOnlyList<LicenseObligations> ForAll(IEnumerable<string> licenses) =>
        [.. licenses.Select(For).OfType<LicenseObligations>().DistinctBy(o => o.Id)];

    /// <summary>The Notice file a model with these licences must ship: one line per required notice (as Tulu 3's notice.txt joins them), or null.</summary>
    public static string? NoticeText(IEnumerable<string> licenses)
    {
        string[] lines = [.. ForAll(licenses).Select(o => o.Notice).OfType<string>()];
        return lines.Length == 0 ? null : string.Join('\n', lines) + "\n";
    }

    /// <summary>Whether a lineage makes the model a derivative that the naming rules cover (fine-tune, adapter or merge).</summary>
    public static bool IsDerivative(IEnumerable<LineageStep> lineage) =>
        lineage.Any(s => s.Relation is LineageRelations.Finetune or LineageRelations.Adapter or LineageRelations.Merge);

    /// <summary>
    /// Why a model may not be distributed as it is: a Notice its licences require that it lacks, or a
    /// derivative's name that does not start as they require. Empty when nothing is wrong.
    /// </summary>
    /// <param name="modelName">The model part of its name (e.g. "llama-3.1-pirate" in "team/llama-3.1-pirate:v1").</param>
    /// <param name="licenses">Its licence texts or ids.</param>
    /// <param name="lineage">Its lineage.</param>
    /// <param name="notice">The text of its Notice layer, or null.</param>
    public static IReadOnlyList<string> DistributionProblems(string modelName, IReadOnlyList<string> licenses, IReadOnlyList<LineageStep> lineage, string? notice)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        var problems = new List<string>();
        bool derivative = IsDerivative(lineage);
        foreach (LicenseObligations o in ForAll(licenses))
        {
            if (o.Notice is { } required && (notice is null || !notice.Contains(required, StringComparison.Ordinal)))
            {
                problems.Add($"the {o.Title} requires a Notice file with \"{required}\"; re-create the model with `cria create` (it writes the Notice) or add it");
            }
            if (derivative && o.NamePrefix is { } prefix && !StartsWithPrefix(modelName, prefix))
            {
                problems.Add($"the {o.Title} requires a distributed derivative's name to begin with \"{prefix}\"; \"{modelName}\" does not (copy it to a name such as \"{Suggest(prefix, modelName)}\" with `cria cp`)");
            }
        }
        return problems;
    }

    /// <summary>"Llama 3" as a name prefix in a model name, where spaces become '-' or nothing: llama3…, llama-3…, Llama_3…</summary>
    private static bool StartsWithPrefix(string name, string prefix)
    {
        string n = name.ToLowerInvariant().Replace('_', '-');
        string p = prefix.ToLowerInvariant();
        return n.StartsWith(p.Replace(' ', '-'), StringComparison.Ordinal) || n.StartsWith(p.Replace(" ", ""), StringComparison.Ordinal);
    }

    private static string Suggest(string prefix, string name) => prefix.ToLowerInvariant().Replace(' ', '-') + "-" + name;
}
