using Cria.Hub.Cards;
using Cria.Hub.Manifests;
using Cria.Hub.Remote;
using Cria.Hub.Store;

namespace Cria.Hub.Tests;

/// <summary>
/// Licences recognized by their text, their obligations listed, the Notice written with every model,
/// and a derivative that breaks its licence's naming rule refused by <c>cria push</c> before any upload.
/// </summary>
public sealed class LicenseTermsTests : IDisposable
{
    private readonly TempStore _t = new();

    public LicenseTermsTests() => File.Copy(TempStore.BundledModel, Path.Combine(_t.Root, "stories260K.gguf"));

    public void Dispose() => _t.Dispose();

    [Theory]
    [InlineData("LLAMA 2 COMMUNITY LICENSE AGREEMENT\nLlama 2 Version Release Date: July 18, 2023", "llama2", null, null)]
    [InlineData("META LLAMA 3 COMMUNITY LICENSE AGREEMENT\nMeta Llama 3 Version Release Date: April 18, 2024", "llama3", "Built with Meta Llama 3", "Llama 3")]
    [InlineData("LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024", "llama3.1", "Built with Llama", "Llama")]
    [InlineData("LLAMA 3.2 COMMUNITY LICENSE AGREEMENT", "llama3.2", "Built with Llama", "Llama")]
    [InlineData("LLAMA 3.3 COMMUNITY LICENSE AGREEMENT", "llama3.3", "Built with Llama", "Llama")]
    [InlineData("LLAMA 4 COMMUNITY LICENSE AGREEMENT", "llama4", "Built with Llama", "Llama")]
    [InlineData("llama3.1", "llama3.1", "Built with Llama", "Llama")]
    [InlineData("Gemma Terms of Use\nLast modified: February 21, 2024", "gemma", null, null)]
    [InlineData("                                 Apache License\n                           Version 2.0, January 2004", "apache-2.0", null, null)]
    [InlineData("MIT License\n\nCopyright (c) 2023 Andrej", "mit", null, null)]
    public void Common_licences_are_recognized_with_their_obligations(string text, string id, string? attribution, string? prefix)
    {
        LicenseObligations o = LicenseTerms.For(text)!;
        Assert.Equal(id, o.Id);
        Assert.Equal(attribution, o.Attribution);
        Assert.Equal(prefix, o.NamePrefix);
        if (id.StartsWith("llama", StringComparison.Ordinal))
        {
            Assert.Contains("Meta Platforms, Inc. All Rights Reserved.", o.Notice, StringComparison.Ordinal);
            Assert.Contains(o.Notes, n => n.Contains("700 million", StringComparison.Ordinal));
            Assert.StartsWith("https://", o.UsePolicy, StringComparison.Ordinal);
        }
        Assert.Null(LicenseTerms.For("Some home-made licence with many words in it"));
    }

    [Fact]
    public void Models_carry_the_notice_their_licences_require_and_derivatives_inherit_it()
    {
        StoredManifest base1 = _t.Create("base", "FROM ./stories260K.gguf\nLICENSE \"\"\"LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nterms...\"\"\"\n");
        ModelDetails d = _t.Store.Describe(base1);
        Assert.Equal("Llama 3.1 is licensed under the Llama 3.1 Community License, Copyright © Meta Platforms, Inc. All Rights Reserved.\n", d.Notice);

        _t.WriteAdapter("a.gguf");
        StoredManifest derived = _t.Create("team/pirate:v1", "FROM base\nADAPTER ./a.gguf\nLICENSE \"\"\"Gemma Terms of Use\"\"\"\n");
        ModelDetails dd = _t.Store.Describe(derived);
        Assert.Contains("Llama 3.1 is licensed", dd.Notice, StringComparison.Ordinal);
        Assert.Contains("Gemma is provided under and subject to the Gemma Terms of Use", dd.Notice, StringComparison.Ordinal);
        Assert.Equal(["llama3.1", "gemma"], dd.Obligations.Select(o => o.Id));

        // A model with only an MIT licence needs no Notice.
        StoredManifest mit = _t.Create("mitonly", "FROM ./stories260K.gguf\nLICENSE MIT\n");
        Assert.Null(_t.Store.Describe(mit).Notice);
    }

    [Fact]
    public void A_derivative_must_be_named_as_its_llama_licence_requires_and_carry_the_notice()
    {
        var lineage = new List<LineageStep> { new() { Relation = LineageRelations.Import, Source = "x" }, new() { Relation = LineageRelations.Adapter, Source = "a.gguf" } };
        string notice = LicenseTerms.NoticeText(["llama3.1"])!;
        Assert.Empty(LicenseTerms.DistributionProblems("llama-3.1-pirate", ["llama3.1"], lineage, notice));
        Assert.Empty(LicenseTerms.DistributionProblems("Llama_pirate", ["llama3.1"], lineage, notice));
        Assert.Contains(LicenseTerms.DistributionProblems("pirate", ["llama3.1"], lineage, notice), p => p.Contains("begin with \"Llama\"", StringComparison.Ordinal));
        Assert.Contains(LicenseTerms.DistributionProblems("llama-3.1-pirate", ["llama3.1"], lineage, null), p => p.Contains("Notice", StringComparison.Ordinal));
        Assert.Contains(LicenseTerms.DistributionProblems("llama-pirate", ["llama3"], lineage, LicenseTerms.NoticeText(["llama3"])), p => p.Contains("\"Llama 3\"", StringComparison.Ordinal));
        Assert.Empty(LicenseTerms.DistributionProblems("llama3-pirate", ["llama3"], lineage, LicenseTerms.NoticeText(["llama3"])));
        // A model that is not a fine-tune, adapter or merge keeps its name; MIT asks for neither.
        Assert.Empty(LicenseTerms.DistributionProblems("stories", ["llama3.1"], [lineage[0]], notice));
        Assert.Empty(LicenseTerms.DistributionProblems("pirate", ["MIT"], lineage, null));
    }

    [Fact]
    public async Task Push_refuses_a_misnamed_derivative_before_uploading_anything()
    {
        _t.Create("base", "FROM ./stories260K.gguf\nLICENSE llama3.2\n");
        _t.WriteAdapter("a.gguf");
        _t.Create("pirate", "FROM base\nADAPTER ./a.gguf\n");
        var pusher = new ModelPusher(_t.Store, new PullOptions());
        // Port 9 (discard) on loopback: nothing listens, so reaching the network would be a different error.
        HubException e = await Assert.ThrowsAsync<HubException>(() =>
            pusher.PushAsync(ModelName.Parse("pirate"), ModelName.Parse("127.0.0.1:9/team/pirate:v1")));
        Assert.Contains("begin with \"Llama\"", e.Message, StringComparison.Ordinal);
    }
}
