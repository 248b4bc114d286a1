using System.Net;
using System.Net.Http.Headers;

using Cria.Hub.Manifests;
using Cria.Hub.Store;

namespace Cria.Hub.Remote;

/// <summary>
/// <c>cria push</c>: uploads a stored model to a registry (a <c>cria hub serve</c> with a push token) with
/// the Docker registry protocol: for each blob the registry lacks (<c>HEAD …/blobs/{digest}</c> is not
/// 200), <c>POST /v2/{name}/blobs/uploads/</c> then a monolithic <c>PUT {location}?digest=…</c>; then
/// <c>PUT /v2/{name}/manifests/{tag}</c> with the manifest's exact bytes, so the model keeps its ID.
/// An upload location on another origin is refused (the token and the weights stay with the registry named).
/// Reference: Docker Registry HTTP API V2 (pushing an image, monolithic upload).
/// </summary>
public sealed class ModelPusher
{
    private readonly ModelStore _store;
    private readonly PullOptions _options;

    public ModelPusher(ModelStore store, PullOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _options = options;
    }

    /// <summary>Pushes <paramref name="local"/> as <paramref name="remote"/> (its host is the registry). Returns the bytes uploaded.</summary>
    /// <exception cref="HubException">No such model, the registry refused (401 without a valid token, 400 for a bad blob or manifest), or the transfer failed.</exception>
    public async Task<long> PushAsync(ModelName local, ModelName remote, IProgress<PullProgress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        StoredManifest stored = _store.Get(local);
        IReadOnlyList<string> problems = _store.DistributionProblems(remote, stored.Manifest);
        if (problems.Count > 0)
        {
            throw new HubException($"{local.DisplayShortest()} may not be pushed as {remote.DisplayShortest()}: {string.Join("; ", problems)}");
        }
        Uri registry = RemoteAddress.RegistryBase(remote.Host, _options.Insecure);
        string repository = $"{Uri.EscapeDataString(remote.Namespace)}/{Uri.EscapeDataString(remote.Model)}";
        using var http = new RemoteHttp(_options, registry, _options.RegistryToken);
        long uploaded = 0;
        foreach (ManifestLayer layer in stored.Manifest.Blobs.DistinctBy(l => l.Digest))
        {
            uploaded += await http.RetryAsync($"upload of blob {layer.Digest}", c => PushBlobAsync(http, registry, repository, layer, progress, c), cancel).ConfigureAwait(false);
        }
        progress?.Report(new PullProgress("writing manifest", remote.DisplayShortest(), 0, 0));
        var manifestUrl = new Uri(registry, $"v2/{repository}/manifests/{Uri.EscapeDataString(remote.Tag)}");
        await http.RetryAsync($"manifest of {remote.DisplayShortest()}", async c =>
        {
            using HttpResponseMessage r = await http.SendAsync(HttpMethod.Put, manifestUrl, null, RedirectMode.None, c, () =>
            {
                var content = new ByteArrayContent(stored.Bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue(stored.Manifest.MediaType);
                return content;
            }).ConfigureAwait(false);
            await RemoteHttp.ThrowForStatusAsync(r, $"manifest of {remote.DisplayShortest()}", c).ConfigureAwait(false);
            return 0;
        }, cancel).ConfigureAwait(false);
        return uploaded;
    }

    private async Task<long> PushBlobAsync(RemoteHttp http, Uri registry, string repository, ManifestLayer layer, IProgress<PullProgress>? progress, CancellationToken cancel)
    {
        string what = $"blob {layer.Digest}";
        var blobUrl = new Uri(registry, $"v2/{repository}/blobs/{layer.Digest}");
        using (HttpResponseMessage head = await http.SendAsync(HttpMethod.Head, blobUrl, null, RedirectMode.Any, cancel).ConfigureAwait(false))
        {
            if (head.StatusCode == HttpStatusCode.OK && head.Content.Headers.ContentLength == layer.Size)
            {
                progress?.Report(new PullProgress("already on the registry", layer.Digest.ToString(), layer.Size, layer.Size));
                return 0;
            }
            if (head.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                await RemoteHttp.ThrowForStatusAsync(head, what, cancel).ConfigureAwait(false);
            }
        }

        Uri location;
        using (HttpResponseMessage start = await http.SendAsync(HttpMethod.Post, new Uri(registry, $"v2/{repository}/blobs/uploads/"), null, RedirectMode.None, cancel,
            () => new ByteArrayContent([])).ConfigureAwait(false))
        {
            await RemoteHttp.ThrowForStatusAsync(start, what, cancel).ConfigureAwait(false);
            Uri? l = start.Headers.Location ?? throw new HubException($"{what}: the registry started an upload without a Location");
            location = l.IsAbsoluteUri ? l : new Uri(registry, l);
            if (!RemoteAddress.SameOrigin(location, registry))
            {
                throw new HubException($"{what}: the registry wants the upload at {location.Authority}, another origin; refusing");
            }
        }
        string separator = location.Query.Length > 0 ? "&" : "?";
        var put = new Uri(location + separator + "digest=" + Uri.EscapeDataString(layer.Digest.ToString()));
        var counter = new TransferCounter(progress, "uploading", layer.Digest.ToString(), layer.Size);
        using HttpResponseMessage done = await http.SendAsync(HttpMethod.Put, put, null, RedirectMode.None, cancel, () =>
        {
            var content = new StreamContent(new CountingStream(_store.Blobs.OpenRead(layer.Digest), counter), 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.ContentLength = layer.Size;
            return content;
        }).ConfigureAwait(false);
        await RemoteHttp.ThrowForStatusAsync(done, what, cancel).ConfigureAwait(false);
        counter.Report(force: true);
        return layer.Size;
    }

    /// <summary>A read-only stream that counts what is read from it (upload progress).</summary>
    private sealed class CountingStream(Stream inner, TransferCounter counter) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            counter.Add(n);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            counter.Add(n);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
