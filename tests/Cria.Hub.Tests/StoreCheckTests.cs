using System.Diagnostics;

using Cria.Hub.Blobs;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

namespace Cria.Hub.Tests;

/// <summary>
/// <c>cria doctor</c>'s check and repair on a real store: corrupt blobs and the manifests that name them,
/// missing blobs, leftovers of dead writers, orphans; files of live writers left alone.
/// </summary>
public sealed class StoreCheckTests : IDisposable
{
    private readonly TempStore _t = new();

    public void Dispose() => _t.Dispose();

    private ModelStore Store => _t.Store;

    private StoredManifest CreateTwo()
    {
        File.Copy(TempStore.BundledModel, Path.Combine(_t.Root, "stories260K.gguf"), overwrite: true);
        _t.Create("keep", "FROM ./stories260K.gguf\nSYSTEM kept\n");
        return _t.Create("other", "FROM ./stories260K.gguf\nSYSTEM another\nPARAMETER temperature 0.5\n");
    }

    [Fact]
    public void A_store_without_problems_is_clean_and_a_missing_store_is_not_created()
    {
        var missing = new ModelStore(Path.Combine(_t.Root, "nowhere"));
        Assert.True(missing.Check(repair: true).Clean);
        Assert.False(Directory.Exists(missing.ModelsDirectory));

        CreateTwo();
        StoreCheckReport r = Store.Check(repair: false);
        Assert.Empty(r.Problems);
        Assert.Equal(2, r.Manifests);
        Assert.Equal(Store.Blobs.Enumerate().Count(), r.BlobsVerified);
    }

    [Fact]
    public void A_corrupt_blob_breaks_its_manifest_and_a_repair_removes_both_but_no_blob_another_model_uses()
    {
        StoredManifest other = CreateTwo();
        ManifestLayer system = other.Manifest.Find(MediaTypes.System)!;
        File.WriteAllText(Store.Blobs.PathOf(system.Digest), "anothe!"); // the same length, other bytes
        var progress = new List<StoreCheckProgress>();

        StoreCheckReport found = Store.Check(repair: false, new Collector(progress));
        Assert.Contains(found.Problems, p => p.Kind == StoreProblemKind.CorruptBlob && p.Path.EndsWith(system.Digest.FileName, StringComparison.Ordinal));
        Assert.Contains(found.Problems, p => p.Kind == StoreProblemKind.BrokenManifest && p.Detail.StartsWith("other:latest", StringComparison.Ordinal));
        Assert.False(found.Clean);
        Assert.NotEmpty(progress);
        Assert.Equal(progress[^1].Total, progress[^1].Done);

        StoreCheckReport repaired = Store.Check(repair: true);
        Assert.True(repaired.Clean);
        Assert.Null(Store.Find(ModelName.Parse("other")));
        StoredManifest keep = Store.Get("keep");
        Assert.All(keep.Manifest.Blobs, l => Assert.True(Store.Blobs.Verify(l.Digest))); // the shared weights stayed
        Assert.Empty(Store.Check(repair: false).Problems);
    }

    [Fact]
    public void A_missing_blob_breaks_its_manifest_and_the_blobs_only_it_named_go_as_orphans()
    {
        StoredManifest other = CreateTwo();
        ManifestLayer system = other.Manifest.Find(MediaTypes.System)!;
        File.Delete(Store.Blobs.PathOf(system.Digest));
        ManifestLayer parameters = other.Manifest.Find(MediaTypes.Params)!; // only "other" has one

        StoreCheckReport r = Store.Check(repair: true);
        Assert.Contains(r.Problems, p => p.Kind == StoreProblemKind.BrokenManifest && p.Detail.Contains("is missing", StringComparison.Ordinal));
        Assert.Contains(r.Problems, p => p.Kind == StoreProblemKind.OrphanBlob && p.Path.EndsWith(parameters.Digest.FileName, StringComparison.Ordinal));
        Assert.True(r.Clean);
        Assert.Equal(["keep:latest"], Store.List().Select(m => m.Name.DisplayShortest()));
    }

    [Fact]
    public void Manifests_whose_blob_folder_is_gone_are_removed_by_a_repair()
    {
        CreateTwo();
        Directory.Delete(Store.Blobs.Directory, recursive: true);
        StoreCheckReport r = Store.Check(repair: true);
        Assert.Equal(2, r.Problems.Count(p => p.Kind == StoreProblemKind.BrokenManifest && p.Repaired));
        Assert.Empty(Store.List());
    }

    [Fact]
    public void Leftovers_of_dead_writers_are_removed_and_those_of_live_ones_are_left_alone()
    {
        CreateTwo();
        int dead = DeadProcessId();
        string deadTemp = Path.Combine(Store.Blobs.Directory, $".tmp-{dead}-0123456789abcdef");
        string liveTemp = Path.Combine(Store.Blobs.Directory, $".tmp-{Environment.ProcessId}-0123456789abcdef");
        string manifestTemp = Path.Combine(Store.ManifestsDirectory, "registry.ollama.ai", "library", "keep", $".tmp-{dead}-fedcba9876543210");
        string partial = Store.Blobs.PathOf(Digest.Of("not here yet"u8)) + "-partial";
        File.WriteAllText(deadTemp, "half a blob");
        File.WriteAllText(liveTemp, "a blob being written");
        File.WriteAllText(manifestTemp, "{");
        File.WriteAllText(partial, "some bytes");
        File.WriteAllText(partial + ".parts", "cria-parts 1 12\n0 10 12\n");

        StoreCheckReport r = Store.Check(repair: true);
        Assert.True(r.Clean);
        Assert.Equal(3, r.Problems.Count(p => p.Kind is StoreProblemKind.TemporaryFile or StoreProblemKind.PartialDownload));
        Assert.False(File.Exists(deadTemp));
        Assert.False(File.Exists(manifestTemp));
        Assert.False(File.Exists(partial));
        Assert.False(File.Exists(partial + ".parts"));
        Assert.True(File.Exists(liveTemp)); // its writer (this process) is alive
        Assert.Contains(r.Notes, n => n.Contains(".tmp-" + Environment.ProcessId, StringComparison.Ordinal));
        Assert.Equal(2, Store.List().Count);
    }

    [Fact]
    public void A_repair_waits_for_no_writer_and_a_check_during_a_write_counts_nothing_in_flight()
    {
        CreateTwo();
        string orphan = Store.Blobs.PutBytes("a blob whose manifest is not written yet"u8).Digest.FileName;
        using (WriterLock.EnterShared(Store.Blobs.Directory))
        {
            StoreCheckReport refused = Store.Check(repair: true);
            Assert.NotNull(refused.RepairRefused);
            Assert.True(File.Exists(Path.Combine(Store.Blobs.Directory, orphan)));
            StoreCheckReport checkedOnly = Store.Check(repair: false);
            Assert.Empty(checkedOnly.Problems);
            Assert.Contains(checkedOnly.Notes, n => n.Contains(orphan, StringComparison.Ordinal));
        }
        StoreCheckReport repaired = Store.Check(repair: true);
        Assert.Null(repaired.RepairRefused);
        Assert.Contains(repaired.Problems, p => p.Kind == StoreProblemKind.OrphanBlob && p.Repaired);
        Assert.False(File.Exists(Path.Combine(Store.Blobs.Directory, orphan)));
    }

    /// <summary>The id of a process that has exited.</summary>
    private static int DeadProcessId()
    {
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    private sealed class Collector(List<StoreCheckProgress> list) : IProgress<StoreCheckProgress>
    {
        public void Report(StoreCheckProgress value) => list.Add(value);
    }
}
