using Cria.Hub;
using Cria.Hub.Manifests;
using Cria.Hub.Remote;
using Cria.Hub.Store;
using Cria.Tests.Fakes;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Cria.HubServer.Tests;

/// <summary>Temporary Cria homes (stores A, B, …) in one folder, deleted afterwards, and the model they start from.</summary>
internal sealed class TestBed : IDisposable
{
    public const string PushToken = "push-token-0123456789";

    public TestBed()
    {
        Root = Directory.CreateTempSubdirectory("cria-hubserver-").FullName;
        A = Store("A");
        B = Store("B");
    }

    public string Root { get; }

    public ModelStore A { get; }

    public ModelStore B { get; }

    /// <summary>Quick retries, small timeouts: a failing test fails in seconds.</summary>
    public static PullOptions Fast { get; } = new()
    {
        RetryDelay = TimeSpan.FromMilliseconds(10),
        MaxRetryDelay = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(10),
        ReadTimeout = TimeSpan.FromSeconds(10),
        BlobLockWait = TimeSpan.FromSeconds(60),
    };

    public static string BundledModel
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Cria.slnx")))
                {
                    return Path.Combine(dir.FullName, "models", "stories260K.gguf");
                }
            }
            throw new InvalidOperationException("repository root not found");
        }
    }

    public ModelStore Store(string name) => new(Path.Combine(Root, name));

    /// <summary>The bundled model created in a store from a Modelfile (greedy, MIT).</summary>
    public StoredManifest CreateStories(ModelStore store, string name = "stories")
    {
        string modelfile = Path.Combine(Root, "Modelfile");
        File.WriteAllText(modelfile, $"FROM {BundledModel}\nPARAMETER temperature 0\nLICENSE MIT\n");
        return store.Create(ModelName.Parse(name), Cria.Hub.Modelfiles.Modelfile.Load(modelfile), Root);
    }

    /// <summary>A fake registry serving a stored model's manifest and blobs.</summary>
    public static Task<FakeRegistry> FakeFor(ModelStore store, StoredManifest m) =>
        FakeRegistry.StartAsync(m.Bytes, m.Manifest.Blobs.DistinctBy(l => l.Digest).ToDictionary(l => l.Digest.ToString(), l => File.ReadAllBytes(store.Blobs.PathOf(l.Digest))));

    /// <summary>Every file under a store's models/ folder, relative (the lock files ".lock" and "blobs/.writers" left out).</summary>
    public static string[] Files(ModelStore store) =>
        !Directory.Exists(store.ModelsDirectory) ? [] :
        [.. Directory.EnumerateFiles(store.ModelsDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(store.ModelsDirectory, f)).Where(f => f != ".lock" && f != Path.Combine("blobs", ".writers")).Order(StringComparer.Ordinal)];

    public static Digest ModelDigest(StoredManifest m) => m.Manifest.Find(MediaTypes.Model)!.Digest;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A real <c>cria hub</c> (Kestrel on 127.0.0.1, OS-chosen port) over a store.</summary>
internal sealed class RunningHub : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningHub(WebApplication app)
    {
        _app = app;
        BaseAddress = new Uri(app.Urls.Single().TrimEnd('/') + "/");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    /// <summary>127.0.0.1:PORT, the host part of a model name.</summary>
    public string Host => BaseAddress.Authority;

    public HttpClient Http { get; }

    /// <summary>The app's services (its endpoint data sources list the mapped routes).</summary>
    public IServiceProvider Services => _app.Services;

    public static async Task<RunningHub> StartAsync(ModelStore store, string[]? pushTokens = null, string[]? pullTokens = null,
        Func<HubServerOptions, HubServerOptions>? configure = null, Action<ILoggingBuilder>? logging = null)
    {
        var options = new HubServerOptions { Home = store.Home, Host = "127.0.0.1", Port = 0, PushTokens = pushTokens ?? [], PullTokens = pullTokens ?? [] };
        WebApplication app = CriaHub.Build(configure?.Invoke(options) ?? options, b =>
        {
            b.SetMinimumLevel(LogLevel.Warning);
            logging?.Invoke(b);
        });
        await app.StartAsync();
        return new RunningHub(app);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
