using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

using Cria.Core.Gguf;
using Cria.Hub.Cards;
using Cria.Hub.Manifests;
using Cria.Hub.Modelfiles;
using Cria.Hub.Store;
using Cria.Numerics;

namespace Cria.Hub.Tests;

public sealed class ModelStoreTests : IDisposable
{
    private const string MitText = "MIT License\n\nCopyright (c) 2023 Andrej Karpathy\n\nPermission is hereby granted, free of charge, to any person obtaining a copy...";
    private const string ApacheText = "                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/";

    private readonly TempStore _t = new();

    public ModelStoreTests()
    {
        File.Copy(TempStore.BundledModel, Path.Combine(_t.Root, "stories260K.gguf"));
    }

    private ModelStore Store => _t.Store;

    private static string Sha(string path) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    public void Dispose() => _t.Dispose();

    [Fact]
    public void Create_from_a_modelfile_then_list_show_copy_and_remove()
    {
        StoredManifest created = _t.Create("stories:tiny", $$$""""
            # a storyteller built on the bundled model
            FROM ./stories260K.gguf
            PARAMETER temperature 0.3
            PARAMETER stop "<|end|>"
            PARAMETER stop User:
            PARAMETER num_ctx 256
            TEMPLATE """{{ .System }} USER: {{ .Prompt }} ASSISTANT: """
            SYSTEM You are a storyteller.
            LICENSE """{{{MitText}}}"""
            MESSAGE user Tell me a story
            MESSAGE assistant """Once upon a time,
            there was a cat."""
            """");

        // Ollama's layout and manifest format
        string manifestPath = Path.Combine(Store.ModelsDirectory, "manifests", "registry.ollama.ai", "library", "stories", "tiny");
        Assert.Equal(manifestPath, created.FilePath);
        byte[] raw = File.ReadAllBytes(manifestPath);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(raw)), created.Digest.ToString());
        using (JsonDocument doc = JsonDocument.Parse(raw))
        {
            JsonElement root = doc.RootElement;
            Assert.Equal(["schemaVersion", "mediaType", "config", "layers"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(2, root.GetProperty("schemaVersion").GetInt32());
            Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", root.GetProperty("mediaType").GetString());
            Assert.Equal("application/vnd.docker.container.image.v1+json", root.GetProperty("config").GetProperty("mediaType").GetString());
            Assert.Equal(
                ["application/vnd.ollama.image.model", "application/vnd.ollama.image.template", "application/vnd.ollama.image.system",
                 "application/vnd.ollama.image.license", "application/vnd.ollama.image.params", "application/vnd.ollama.image.messages",
                 "application/vnd.cria.lineage+json", "application/vnd.cria.modelcard"],
                root.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("mediaType").GetString()));
        }
        foreach (ManifestLayer layer in created.Manifest.Blobs)
        {
            Assert.True(Store.Blobs.Verify(layer.Digest), layer.MediaType);
            Assert.Equal(new FileInfo(Store.Blobs.PathOf(layer.Digest)).Length, layer.Size);
        }
        ManifestLayer model = created.Manifest.Find(MediaTypes.Model)!;
        Assert.Equal(Sha(TempStore.BundledModel), model.Digest.ToString());
        Assert.Equal("""{"num_ctx":256,"stop":["<|end|>","User:"],"temperature":0.3}""",
            File.ReadAllText(Store.Blobs.PathOf(created.Manifest.Find(MediaTypes.Params)!.Digest)));
        using (JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(Store.Blobs.PathOf(created.Manifest.Config.Digest))))
        {
            JsonElement c = config.RootElement;
            Assert.Equal("gguf", c.GetProperty("model_format").GetString());
            Assert.Equal("llama", c.GetProperty("model_family").GetString());
            Assert.Equal(["llama"], c.GetProperty("model_families").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("F32", c.GetProperty("file_type").GetString());
            Assert.Equal("260K", c.GetProperty("model_type").GetString());
        }

        ModelSummary row = Assert.Single(Store.List());
        Assert.Equal("stories:tiny", row.Name.DisplayShortest());
        Assert.Equal(created.Digest, row.Digest);
        Assert.Equal(created.Manifest.TotalSize, row.Size);
        Assert.Equal("F32", row.FileType);
        Assert.Equal("llama", row.Family);
        Assert.Equal("260K", row.ParameterSize);
        Assert.Equal(["mit"], row.Licenses);
        Assert.Null(row.Error);
        Assert.True(DateTimeOffset.UtcNow - row.Modified < TimeSpan.FromMinutes(5));

        ModelDetails d = Store.Show("stories:tiny");
        Assert.Equal(0.3f, d.Parameters.GetFloat("temperature"));
        Assert.Equal(256, d.Parameters.GetInteger("num_ctx"));
        Assert.Equal(["<|end|>", "User:"], d.Parameters.GetStrings("stop"));
        Assert.Equal("{{ .System }} USER: {{ .Prompt }} ASSISTANT: ", d.Template);
        Assert.Equal("You are a storyteller.", d.System);
        Assert.Equal([MitText], d.Licenses);
        Assert.Equal([new ChatMessage("user", "Tell me a story"), new ChatMessage("assistant", "Once upon a time,\nthere was a cat.")], d.Messages);
        LineageStep step = Assert.Single(d.Lineage);
        Assert.Equal(LineageRelations.Import, step.Relation);
        Assert.Equal(Path.Combine(_t.Root, "stories260K.gguf"), step.Source);
        Assert.Equal(model.Digest, step.Digest);
        FrontMatterDocument card = FrontMatter.Read(d.ModelCard);
        Assert.True(card.HasFrontMatter);
        Assert.Equal("mit", card.Scalar("license"));
        Assert.Contains("gguf", card.List("tags"));
        Assert.Contains("llama", card.List("tags"));
        Assert.Null(card.Scalar("base_model"));
        Assert.Contains("| 1 | import |", card.Body);

        ResolvedModel r = Store.Resolve("stories:tiny");
        Assert.Equal(Store.Blobs.PathOf(model.Digest), r.ModelPath);
        Assert.Equal("You are a storyteller.", r.System);
        Assert.Equal(0.3f, r.Parameters.GetFloat("temperature"));
        Assert.Equal("stories:tiny", r.DisplayName);
        using (GgufFile g = GgufFile.Open(r.ModelPath))
        {
            Assert.Equal("llama", g.GetString("general.architecture"));
        }
        Assert.Equal(Path.GetFullPath(TempStore.BundledModel), Store.Resolve(TempStore.BundledModel).ModelPath);

        StoredManifest copy = Store.Copy("stories:tiny", "backup/stories:v1");
        Assert.Equal(created.Digest, copy.Digest);
        Assert.Equal(["backup/stories:v1", "stories:tiny"], Store.List().Select(m => m.Name.DisplayShortest()));

        RemoveResult first = Store.Remove("stories:tiny");
        Assert.Empty(first.DeletedBlobs); // the copy still uses every blob
        Assert.False(Directory.Exists(Path.Combine(Store.ManifestsDirectory, "registry.ollama.ai", "library")));
        Assert.True(Store.Blobs.Verify(model.Digest));
        RemoveResult second = Store.Remove("backup/stories:v1");
        Assert.Equal(created.Manifest.Blobs.Select(b => b.Digest).Order(DigestOrder.Instance), second.DeletedBlobs.Order(DigestOrder.Instance));
        Assert.Empty(_t.Files());
        Assert.Empty(Store.List());
        Assert.Throws<ModelNotFoundException>(() => Store.Remove("backup/stories:v1"));
    }

    [Fact]
    public void A_derivative_of_a_derivative_keeps_lineage_licences_and_parameters()
    {
        StoredManifest basis = _t.Create("base", "FROM ./stories260K.gguf\nPARAMETER temperature 0.9\nPARAMETER stop END\n");
        Assert.Equal(["MIT"], Store.Show("base").Licenses); // general.license from the GGUF
        StoredManifest d1 = _t.Create("team/d1:v1", $"""
            FROM base
            PARAMETER temperature 0.5
            SYSTEM first system
            LICENSE "{ApacheText.Replace("\n", " ", StringComparison.Ordinal)}"
            """);
        StoredManifest d2 = _t.Create("d2", """
            FROM team/d1:v1
            PARAMETER top_k 10
            SYSTEM second system
            LICENSE "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT Llama 3.2 Version Release Date: September 25, 2024"
            """);
        StoredManifest d3 = _t.Create("d3", "FROM d2\nSYSTEM no licence given here\n");

        ModelDetails s2 = Store.Show("d2");
        Assert.Equal(3, s2.Licenses.Count);
        Assert.Equal("MIT", s2.Licenses[0]);
        Assert.StartsWith("Apache License", s2.Licenses[1].TrimStart());
        Assert.Equal(["mit", "apache-2.0", "llama3.2"], s2.Licenses.Select(LicenseNames.ShortName));
        Assert.Equal(0.5f, s2.Parameters.GetFloat("temperature"));
        Assert.Equal(10, s2.Parameters.GetInteger("top_k"));
        Assert.Equal(["END"], s2.Parameters.GetStrings("stop"));
        Assert.Equal("second system", s2.System);

        Digest weights = basis.Manifest.Find(MediaTypes.Model)!.Digest;
        Assert.Equal(weights, d2.Manifest.Find(MediaTypes.Model)!.Digest);
        Assert.Equal("team/d1:v1", d2.Manifest.Find(MediaTypes.Model)!.From);
        Assert.Equal(
            [(LineageRelations.Import, Path.Combine(_t.Root, "stories260K.gguf")), (LineageRelations.Base, "base:latest"), (LineageRelations.Base, "team/d1:v1")],
            s2.Lineage.Select(s => (s.Relation, s.Source)));
        Assert.All(s2.Lineage, s => Assert.Equal(weights, s.Digest));

        ModelDetails s3 = Store.Show("d3");
        Assert.Equal(s2.Licenses, s3.Licenses); // a derivative cannot drop its base's licences
        Assert.Equal(4, s3.Lineage.Count);
        FrontMatterDocument card = FrontMatter.Read(s3.ModelCard);
        Assert.Equal("d2:latest", card.Scalar("base_model"));
        Assert.Null(card.Scalar("base_model_relation"));
        Assert.Equal("other", card.Scalar("license"));
        Assert.Equal("mit + apache-2.0 + llama3.2", card.Scalar("license_name"));

        // rm base: exactly its blobs that no other manifest uses go; the derivatives stay whole
        var others = new[] { d1, d2, d3 }.SelectMany(m => m.Manifest.Blobs).Select(l => l.Digest).ToHashSet();
        RemoveResult removed = Store.Remove("base");
        Assert.Equal(basis.Manifest.Blobs.Select(l => l.Digest).Where(d => !others.Contains(d)).Distinct().Order(DigestOrder.Instance), removed.DeletedBlobs.Order(DigestOrder.Instance));
        Assert.NotEmpty(removed.DeletedBlobs);
        Assert.Equal(others.Order(DigestOrder.Instance), Store.Blobs.Enumerate().Order(DigestOrder.Instance));
        Assert.True(Store.Blobs.Verify(weights));
        Assert.Equal(Store.Blobs.PathOf(weights), Store.Resolve("d3").ModelPath);
    }

    [Fact]
    public void Remove_deletes_only_the_removed_models_unreferenced_blobs_and_gc_takes_orphans()
    {
        StoredManifest a = _t.Create("a", "FROM ./stories260K.gguf\nSYSTEM shared\n");
        StoredManifest b = _t.Create("b", "FROM ./stories260K.gguf\nSYSTEM shared\nTEMPLATE only-b\n");
        Digest orphan = Store.Blobs.PutBytes("left by an interrupted pull"u8).Digest;

        RemoveResult rb = Store.Remove("b");
        var onlyB = b.Manifest.Blobs.Select(l => l.Digest).Except(a.Manifest.Blobs.Select(l => l.Digest)).ToHashSet();
        Assert.Equal(onlyB.Order(DigestOrder.Instance), rb.DeletedBlobs.Order(DigestOrder.Instance));
        Assert.Contains(b.Manifest.Find(MediaTypes.Template)!.Digest, rb.DeletedBlobs);
        Assert.True(Store.Blobs.Exists(orphan));
        Assert.All(a.Manifest.Blobs, l => Assert.True(Store.Blobs.Verify(l.Digest)));

        Assert.Empty(Store.CollectGarbage(TimeSpan.FromHours(1))); // the orphan is too young
        Assert.Equal([orphan], Store.CollectGarbage(TimeSpan.Zero));
        Assert.All(a.Manifest.Blobs, l => Assert.True(Store.Blobs.Exists(l.Digest)));
    }

    [Fact]
    public void A_from_that_is_not_a_valid_gguf_is_rejected_and_leaves_nothing()
    {
        _t.WriteFile("notes.gguf", "just some text, not a model");
        byte[] full = File.ReadAllBytes(TempStore.BundledModel);
        File.WriteAllBytes(Path.Combine(_t.Root, "cut.gguf"), full.AsSpan(0, full.Length / 2).ToArray());
        string adapter = _t.WriteAdapter("lora.gguf");

        Assert.Contains("not a GGUF file", Assert.Throws<GgufFormatException>(() => _t.Create("x", "FROM ./notes.gguf")).Message);
        Assert.Empty(_t.Files());
        Assert.Contains("past the end of the file", Assert.Throws<GgufFormatException>(() => _t.Create("x", "FROM ./cut.gguf")).Message);
        Assert.Empty(_t.Files());

        _t.Create("good", "FROM ./stories260K.gguf\nSYSTEM keep me\n");
        string[] before = _t.Files();
        Assert.Contains("is a LoRA adapter", Assert.Throws<HubException>(() => _t.Create("x", "FROM ./lora.gguf")).Message);
        Assert.Throws<GgufFormatException>(() => _t.Create("x", "FROM ./notes.gguf\nSYSTEM new text\n"));
        ModelfileException missing = Assert.Throws<ModelfileException>(() => _t.Create("x", "# no such base\nFROM nosuch:7b\n"));
        Assert.Equal(2, missing.Line);
        Assert.Contains("run `cria pull nosuch:7b` first", missing.Message);
        Assert.Contains("file not found", Assert.Throws<ModelfileException>(() => _t.Create("x", "FROM ./missing.gguf\n")).Message);
        Assert.Contains("not a model name", Assert.Throws<ModelfileException>(() => _t.Create("x", "FROM some thing\n")).Message);
        Assert.Contains("is a directory", Assert.Throws<ModelfileException>(() => _t.Create("x", "FROM .\n")).Message);
        ModelfileException badAdapter = Assert.Throws<ModelfileException>(() => _t.Create("x", "FROM good\nADAPTER ./none.gguf\n"));
        Assert.Equal(2, badAdapter.Line);
        Assert.Equal(before, _t.Files());
        Assert.Equal(adapter, Path.Combine(_t.Root, "lora.gguf"));
    }

    [Fact]
    public void An_adapter_is_validated_stored_and_recorded_in_the_lineage()
    {
        _t.Create("base", "FROM ./stories260K.gguf\n");
        string lora = _t.WriteAdapter("lora.gguf");
        StoredManifest m = _t.Create("tuned", "FROM base\nADAPTER ./lora.gguf\n");
        ManifestLayer layer = Assert.Single(m.Manifest.FindAll(MediaTypes.Adapter));
        Assert.Equal(Sha(lora), layer.Digest.ToString());
        ModelDetails d = Store.Show("tuned");
        Assert.Equal([Store.Blobs.PathOf(layer.Digest)], d.AdapterPaths);
        Assert.Equal((LineageRelations.Adapter, lora), (d.Lineage[^1].Relation, d.Lineage[^1].Source));
        FrontMatterDocument card = FrontMatter.Read(d.ModelCard);
        Assert.Equal("base:latest", card.Scalar("base_model"));
        Assert.Equal("adapter", card.Scalar("base_model_relation"));
        Assert.Equal([Store.Blobs.PathOf(layer.Digest)], Store.Resolve("tuned").AdapterPaths);

        string[] before = _t.Files();
        _t.WriteAdapter("qwen-lora.gguf", architecture: "qwen2");
        Assert.Contains("is for qwen2 models, but the base model is llama", Assert.Throws<HubException>(() => _t.Create("x", "FROM base\nADAPTER ./qwen-lora.gguf\n")).Message);
        _t.WriteAdapter("not-lora.gguf", type: "model");
        Assert.Contains("not \"adapter\"", Assert.Throws<HubException>(() => _t.Create("x", "FROM base\nADAPTER ./not-lora.gguf\n")).Message);
        Assert.Throws<GgufFormatException>(() => _t.Create("x", "FROM base\nADAPTER ./Modelfile\n")); // a text file
        // A whole model given as ADAPTER (the reliability probe stored one that could never load).
        Assert.Contains("ADAPTER ./stories260K.gguf", Assert.Throws<HubException>(() => _t.Create("x", "FROM base\nADAPTER ./stories260K.gguf\n")).Message.Replace(_t.Root + "/", "./", StringComparison.Ordinal));
        // An adapter whose shapes do not fit the base is refused as the engine would refuse it.
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.type", "adapter");
        w.Add("adapter.type", "lora");
        w.AddTensor("blk.0.attn_q.weight.lora_a", GgmlType.F32, [32, 2], new byte[32 * 2 * 4]);
        w.AddTensor("blk.0.attn_q.weight.lora_b", GgmlType.F32, [2, 32], new byte[2 * 32 * 4]);
        w.Save(Path.Combine(_t.Root, "narrow.gguf"));
        HubException narrow = Assert.Throws<HubException>(() => _t.Create("x", "FROM base\nADAPTER ./narrow.gguf\n"));
        Assert.Contains("cannot be applied to the base model", narrow.Message, StringComparison.Ordinal);
        Assert.Contains("blk.0.attn_q.weight", narrow.Message, StringComparison.Ordinal);
        Assert.Equal(before, _t.Files());
    }

    [Fact]
    public void A_create_cancelled_while_copying_the_weights_leaves_no_manifest_and_no_blobs()
    {
        _t.Create("existing", "FROM ./stories260K.gguf\n");
        string[] before = _t.Files();
        var big = new byte[6 << 20];
        byte[] model = File.ReadAllBytes(TempStore.BundledModel);
        // a larger GGUF: the bundled one with a long metadata string, so the copy takes several buffers
        var w = new GgufWriter();
        using (GgufFile g = GgufFile.Open(TempStore.BundledModel))
        {
            foreach (GgufMetadataEntry e in g.Metadata)
            {
                w.Add(e.Key, e.Value);
            }
            w.Add("cria.test.padding", new string('x', big.Length));
            foreach (GgufTensorInfo ti in g.Tensors)
            {
                w.AddTensor(ti.Name, ti.Type, ti.Dimensions.ToArray(), g.TensorBytes(ti).ToArray());
            }
        }
        w.Save(Path.Combine(_t.Root, "big.gguf"));
        Assert.True(model.Length > 0);

        using var cancel = new CancellationTokenSource();
        var statuses = new List<string>();
        var progress = new SyncProgress<StoreProgress>(p =>
        {
            statuses.Add(p.Status);
            if (p.Status == "copying model" && p.Completed > 0)
            {
                Assert.True(p.Total > big.Length);
                cancel.Cancel();
            }
        });
        Modelfile mf = Modelfile.Parse("FROM ./big.gguf\nSYSTEM never stored\n");
        Assert.Throws<OperationCanceledException>(() => Store.Create(ModelName.Parse("big"), mf, _t.Root, progress, cancel.Token));
        Assert.Contains("copying model", statuses);
        Assert.Equal(before, _t.Files());
        Assert.Single(Store.List());
    }

    [Fact]
    public void Show_modelfile_output_recreates_the_model_without_copying_the_weights()
    {
        _t.Create("orig", ModelfileTests.ChatMl.Replace("FROM qwen2.5:0.5b", "FROM ./stories260K.gguf", StringComparison.Ordinal));
        ModelDetails d = Store.Show("orig");
        string text = d.ToModelfile();
        Assert.Contains("# FROM orig:latest", text);
        Assert.Contains($"FROM {d.ModelPath}", text);
        StoredManifest clone = Store.Create(ModelName.Parse("clone"), Modelfile.Parse(text), _t.Root);
        ModelDetails c = Store.Show("clone");
        Assert.Equal(d.ModelDigest, c.ModelDigest);
        Assert.Equal(d.Template, c.Template);
        Assert.Equal(d.Messages, c.Messages);
        Assert.Equal(d.Licenses, c.Licenses);
        Assert.Equal(d.Parameters.ToJson(), c.Parameters.ToJson());
        Assert.Equal(d.Stored.Manifest.Layers.Select(l => l.MediaType), clone.Manifest.Layers.Select(l => l.MediaType));
    }

    [Fact]
    public void Names_are_matched_case_insensitively_and_recreating_replaces()
    {
        _t.Create("Stories:Tiny", "FROM ./stories260K.gguf\nSYSTEM one\n");
        Assert.Equal("one", Store.Show("stories:tiny").System);
        Assert.Equal("Stories:Tiny", Store.Show("STORIES:TINY").Name.DisplayShortest());
        StoredManifest old = Store.Get("stories:tiny");
        _t.Create("stories:TINY", "FROM ./stories260K.gguf\nSYSTEM two\n");
        Assert.Equal(ModelName.Parse("stories:tiny"), Assert.Single(Store.List()).Name);
        Assert.Equal("two", Store.Show("stories:tiny").System);
        Assert.False(Store.Blobs.Exists(old.Manifest.Find(MediaTypes.System)!.Digest)); // the replaced model's own blob went
    }

    [Fact]
    public void Traversal_through_the_store_api_is_refused()
    {
        _t.Create("safe", "FROM ./stories260K.gguf\n");
        string outside = _t.WriteFile("victim.txt", "do not delete");
        foreach (string evil in new[] { "../../victim.txt", "..", "../x", "a/../../b", "/etc/passwd", "x\\..\\..\\y", "x:..", "x\0y" })
        {
            Assert.ThrowsAny<HubException>(() => Store.Remove(evil));
            Assert.ThrowsAny<HubException>(() => Store.Show(evil));
            Assert.ThrowsAny<HubException>(() => Store.Copy("safe", evil));
            Assert.ThrowsAny<HubException>(() => Store.Copy(evil, "y"));
        }
        Assert.True(File.Exists(outside));
        Assert.Single(Store.List());

        // junk in the manifests tree is never taken for a model
        Directory.CreateDirectory(Path.Combine(Store.ManifestsDirectory, ".hidden", "ns", "m"));
        File.WriteAllText(Path.Combine(Store.ManifestsDirectory, ".hidden", "ns", "m", "t"), "{}");
        Directory.CreateDirectory(Path.Combine(Store.ManifestsDirectory, "h", "ns", "m"));
        File.WriteAllText(Path.Combine(Store.ManifestsDirectory, "h", "ns", "m", "..tag"), "{}");
        Assert.Single(Store.List());
    }

    [Fact]
    public void A_damaged_manifest_is_listed_with_its_error_and_can_be_removed()
    {
        _t.Create("ok", "FROM ./stories260K.gguf\n");
        StoredManifest bad = _t.Create("bad", "FROM ./stories260K.gguf\nSYSTEM mine\n");
        File.WriteAllText(bad.FilePath, "{\"schemaVersion\": 2, \"mediaType\": \"x\"");
        ModelSummary row = Store.List().Single(r => r.Name == ModelName.Parse("bad"));
        Assert.Contains("manifest", row.Error);
        string[] before = _t.Files();
        RemoveResult r = Store.Remove("bad");
        Assert.Empty(r.DeletedBlobs);
        Assert.NotEmpty(r.Warnings);
        Assert.Single(Store.List());
        Assert.Equal(before.Length - 1, _t.Files().Length);
    }

    [Fact]
    public void Write_manifest_keeps_the_bytes_and_refuses_missing_or_wrong_sized_blobs()
    {
        StoredManifest m = _t.Create("src", "FROM ./stories260K.gguf\n");
        byte[] pretty = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(JsonDocument.Parse(m.Bytes).RootElement, new JsonSerializerOptions { WriteIndented = true }));
        StoredManifest pulled = Store.WriteManifest(ModelName.Parse("registry.example.com/team/pulled:1"), pretty);
        Assert.Equal(Digest.Of(pretty), pulled.Digest);
        Assert.Equal(pretty, File.ReadAllBytes(pulled.FilePath));

        var missing = m.Manifest with { Layers = [.. m.Manifest.Layers, new ManifestLayer { MediaType = MediaTypes.License, Digest = Digest.Of("absent"u8), Size = 6 }] };
        Assert.Contains("is not in the store", Assert.Throws<HubException>(() => Store.WriteManifest(ModelName.Parse("m2"), missing)).Message);
        var wrongSize = m.Manifest with { Layers = [m.Manifest.Layers[0] with { Size = 1 }] };
        Assert.Contains("but the manifest says 1", Assert.Throws<HubException>(() => Store.WriteManifest(ModelName.Parse("m3"), wrongSize)).Message);
        Assert.Contains("schemaVersion 1", Assert.Throws<HubException>(() => Store.WriteManifest(ModelName.Parse("m4"), """{"schemaVersion":1,"mediaType":"x","config":{"mediaType":"a","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"""u8)).Message);
        string traversal = "sha256:" + string.Concat(Enumerable.Repeat("../", 21)) + "a";
        byte[] evil = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"a","digest":"{{traversal}}","size":0},"layers":[]}""");
        Assert.Contains("only lowercase hex", Assert.Throws<HubException>(() => Store.WriteManifest(ModelName.Parse("m5"), evil)).Message);
        Digest notGguf = Store.Blobs.PutBytes("not weights"u8).Digest;
        var fake = m.Manifest with { Layers = [new ManifestLayer { MediaType = MediaTypes.Model, Digest = notGguf, Size = 11 }] };
        Assert.Throws<GgufFormatException>(() => Store.WriteManifest(ModelName.Parse("m6"), fake));
        Assert.Equal(2, Store.List().Count);
    }

    [Fact]
    public void Resolve_says_what_it_looked_for()
    {
        Assert.Contains("model file not found: ./nope.gguf", Assert.Throws<ModelNotFoundException>(() => Store.Resolve("./nope.gguf")).Message);
        ModelNotFoundException e = Assert.Throws<ModelNotFoundException>(() => Store.Resolve("nosuch"));
        Assert.Contains("no nosuch:latest in the store", e.Message);
        Assert.Contains("`cria list`", e.Message);
        Assert.Contains("not a model name", Assert.Throws<ModelNotFoundException>(() => Store.Resolve("no such")).Message);
        Assert.Contains("is a directory", Assert.Throws<HubException>(() => Store.Resolve(_t.Root)).Message);
    }

    [Fact]
    public void Concurrent_creates_from_one_file_all_succeed_and_share_the_weights()
    {
        const int n = 4;
        var errors = new Exception?[n];
        using var start = new Barrier(n);
        var threads = Enumerable.Range(0, n).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                Modelfile mf = Modelfile.Parse($"FROM ./stories260K.gguf\nSYSTEM model {i}\n");
                Store.Create(ModelName.Parse($"m{i}"), mf, _t.Root);
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(errors, Assert.Null);
        Assert.Equal(n, Store.List().Count);
        Assert.All(Store.Blobs.Enumerate(), d => Assert.True(Store.Blobs.Verify(d)));
        Assert.Single(_t.Files(), f => f.EndsWith(Sha(TempStore.BundledModel)[7..], StringComparison.Ordinal));
        Assert.DoesNotContain(_t.Files(), f => f.Contains(".tmp-", StringComparison.Ordinal));
    }

    /// <summary>Orders digests by their hex, so sets can be compared as sequences.</summary>
    private sealed class DigestOrder : IComparer<Digest>
    {
        public static readonly DigestOrder Instance = new();

        public int Compare(Digest? x, Digest? y) => string.CompareOrdinal(x?.Hex, y?.Hex);
    }
}
