using Cria.Hub.Blobs;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

namespace Cria.Hub.Remote;

/// <summary>
/// Pulls <c>[host[:port]/][namespace/]model[:tag]</c> over the registry protocol Ollama and Docker use:
/// <c>GET /v2/{namespace}/{model}/manifests/{tag}</c>, then each blob the manifest names
/// (<c>GET /v2/{namespace}/{model}/blobs/{digest}</c>, redirects followed), each verified, then the
/// manifest filed with its exact bytes (so its digest is the registry's) — which the store does only
/// when every blob is present and every model layer opens with the GGUF parser.
/// Reference: the Docker Registry HTTP API V2; ollama/ollama server/images.go (PullModel), server/download.go.
/// </summary>
internal sealed class RegistryPuller(ModelStore store, PullOptions options)
{
    private const string Accept = MediaTypes.Manifest + ", " + MediaTypes.OciManifest;

    public async Task<PullResult> PullAsync(ModelName name, IProgress<PullProgress>? progress, CancellationToken cancel)
    {
        Uri registry = RemoteAddress.RegistryBase(name.Host, options.Insecure);
        string repository = $"{Uri.EscapeDataString(name.Namespace)}/{Uri.EscapeDataString(name.Model)}";
        var manifestUrl = new Uri(registry, $"v2/{repository}/manifests/{Uri.EscapeDataString(name.Tag)}");
        using var http = new RemoteHttp(options, registry, options.RegistryToken);

        progress?.Report(new PullProgress("pulling manifest", name.DisplayShortest(), 0, 0));
        byte[] raw;
        System.Net.Http.Headers.HttpResponseHeaders headers;
        try
        {
            (raw, headers) = await http.GetBytesAsync(manifestUrl, Manifest.MaxBytes, $"manifest of {name.DisplayShortest()}", Accept, cancel).ConfigureAwait(false);
        }
        catch (RemoteStatusException e) when (e.Status == 404)
        {
            throw new ModelNotFoundException($"{name.DisplayShortest()} not found: {RemoteAddress.Show(manifestUrl)} has no such model or tag", e);
        }
        Digest manifestDigest = Digest.Of(raw);
        if (headers.TryGetValues("Docker-Content-Digest", out IEnumerable<string>? values)
            && values.FirstOrDefault() is string announced && Digest.TryParse(announced.Trim(), out Digest? claimed) && claimed != manifestDigest)
        {
            throw new DigestMismatchException($"manifest of {name.DisplayShortest()} has {manifestDigest}, but the registry announced {claimed}");
        }
        Manifest manifest = Manifest.Parse(raw, $"{name.DisplayShortest()} from {registry.Authority}");
        List<ManifestLayer> blobs = [.. manifest.Blobs.DistinctBy(l => l.Digest)];
        long missing = 0;
        foreach (ManifestLayer layer in blobs)
        {
            if (layer.Size > options.MaxBlobBytes)
            {
                throw new HubException($"manifest of {name.DisplayShortest()} announces blob {layer.Digest} of {layer.Size:N0} bytes; at most {options.MaxBlobBytes:N0} are accepted");
            }
            if (!(store.Blobs.TryGetSize(layer.Digest, out long have) && have == layer.Size))
            {
                missing = checked(missing + layer.Size);
            }
        }
        Directory.CreateDirectory(store.Blobs.Directory);
        DiskSpace.Ensure(store.Blobs.Directory, missing);
        using WriterLock writers = WriterLock.EnterShared(store.Blobs.Directory); // until the manifest names the blobs (see WriterLock)

        var downloader = new BlobDownloader(http, store.Blobs);
        var created = new List<Digest>();
        long downloaded = 0;
        foreach (ManifestLayer layer in blobs.OrderByDescending(l => l.Size))
        {
            var url = new Uri(registry, $"v2/{repository}/blobs/{layer.Digest}");
            BlobInfo info = await downloader.DownloadAsync(layer.Digest, layer.Size, url, progress, cancel).ConfigureAwait(false);
            if (info.Created)
            {
                created.Add(info.Digest);
                downloaded += info.Size;
            }
        }
        progress?.Report(new PullProgress("writing manifest", name.DisplayShortest(), 0, 0));
        try
        {
            StoredManifest stored = store.WriteManifest(name, raw);
            return new PullResult { Stored = stored, Source = RemoteAddress.Show(manifestUrl), Downloaded = downloaded };
        }
        catch (Exception e) when (e is HubException or Core.Gguf.GgufFormatException)
        {
            store.RemoveUnreferencedBlobs(created); // verified, but not a model the engine reads: keep nothing of it
            throw;
        }
    }
}
