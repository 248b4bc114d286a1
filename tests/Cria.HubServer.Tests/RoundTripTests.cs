using Cria.Core.Gguf;
using Cria.Hub;
using Cria.Hub.Cards;
using Cria.Hub.Manifests;
using Cria.Hub.Remote;
using Cria.Hub.Store;

namespace Cria.HubServer.Tests;

/// <summary>A model created in store A, served by the hub, pulled into store B by both protocols.</summary>
public sealed class RoundTripTests : IDisposable
{
    private readonly TestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    [Fact]
    public async Task Registry_pull_keeps_the_manifest_bytes_and_gives_a_loadable_gguf()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A);

        PullResult r = await new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{hub.Host}/library/stories");

        Assert.Equal(a.Digest, r.Stored.Digest);
        Assert.Equal(a.Bytes, r.Stored.Bytes);
        ResolvedModel resolved = _bed.B.Resolve($"{hub.Host}/library/stories");
        using (GgufFile f = GgufFile.Open(resolved.ModelPath))
        {
            Assert.Equal("llama", f.GetString("general.architecture"));
        }
        Assert.Equal(0f, resolved.Parameters.GetFloat("temperature"));
        Assert.DoesNotContain(TestBed.Files(_bed.B), f => f.Contains("partial", StringComparison.Ordinal) || f.Contains(".tmp", StringComparison.Ordinal));

        // pulled again: nothing is downloaded
        PullResult again = await new ModelPuller(_bed.B, TestBed.Fast).PullAsync($"{hub.Host}/library/stories:latest");
        Assert.Equal(0, again.Downloaded);
    }

    [Fact]
    public async Task Hugging_face_pull_pins_the_revision_and_keeps_licence_card_and_lineage()
    {
        StoredManifest a = _bed.CreateStories(_bed.A);
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A);
        PullOptions options = TestBed.Fast with { HuggingFaceEndpoint = hub.BaseAddress.ToString() };

        PullResult r = await new ModelPuller(_bed.B, options).PullAsync("hf.co/library/stories");

        Assert.Equal("hf.co/library/stories:latest", r.Stored.Name.ToString());
        Assert.Equal(TestBed.ModelDigest(a), TestBed.ModelDigest(r.Stored));
        Assert.Matches("^[0-9a-f]{40}$", r.Revision);
        Assert.Equal($"{hub.BaseAddress}library/stories/resolve/{r.Revision}/stories-latest.gguf", r.Source);
        ModelDetails d = _bed.B.Show(r.Stored.Name);
        LineageStep import = Assert.Single(d.Lineage);
        Assert.Equal("import", import.Relation);
        Assert.Equal(r.Source, import.Source);
        Assert.Equal(TestBed.ModelDigest(a), import.Digest);
        Assert.Equal(["mit"], d.Licenses);
        FrontMatterDocument card = FrontMatter.Read(d.ModelCard);
        Assert.Equal("mit", card.Scalar("license"));
        Assert.Contains("gguf", card.List("tags"));
        using GgufFile f = GgufFile.Open(_bed.B.Resolve("hf.co/library/stories").ModelPath);

        // by quant (the tag as a word in the file name) and by file path
        Assert.Equal("hf.co/library/stories:latest", (await new ModelPuller(_bed.B, options).PullAsync("hf.co/library/stories:latest")).Stored.Name.ToString());
        PullResult byFile = await new ModelPuller(_bed.B, options).PullAsync("hf.co/library/stories/stories-latest.gguf");
        Assert.Equal("hf.co/library/stories:stories-latest", byFile.Stored.Name.ToString());
        HubException missing = await Assert.ThrowsAsync<HubException>(() => new ModelPuller(_bed.B, options).PullAsync("hf.co/library/stories:Q8_0"));
        Assert.Contains("no GGUF file for quant \"Q8_0\"", missing.Message);
        Assert.Contains("stories-latest.gguf", missing.Message);
        await Assert.ThrowsAsync<ModelNotFoundException>(() => new ModelPuller(_bed.B, options).PullAsync("hf.co/nobody/nothing"));
    }

    [Fact]
    public async Task A_base_model_in_the_card_opens_the_lineage()
    {
        StoredManifest a = _bed.CreateStories(_bed.A, "team/tiny");
        // Re-create with a card that names a base model, as a Hugging Face quantized repo's README does.
        _bed.A.Create(ModelName.Parse("team/tiny"), new ModelRecipe
        {
            From = ModelSource.FromBlob(TestBed.ModelDigest(a), "test"),
            ModelCard = "---\nlicense: apache-2.0\nbase_model: karpathy/tinyllamas\nbase_model_relation: quantized\n---\n# tiny\n",
        });
        await using RunningHub hub = await RunningHub.StartAsync(_bed.A);
        PullResult r = await new ModelPuller(_bed.B, TestBed.Fast with { HuggingFaceEndpoint = hub.BaseAddress.ToString() }).PullAsync("hf.co/team/tiny");
        ModelDetails d = _bed.B.Show(r.Stored.Name);
        Assert.Equal(["quantized", "import"], d.Lineage.Select(l => l.Relation));
        Assert.Equal("hf.co/karpathy/tinyllamas", d.Lineage[0].Source);
        Assert.Equal(["apache-2.0"], d.Licenses);
    }
}
