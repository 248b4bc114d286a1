using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

using Cria.Server.Engine;
using Cria.Server.Telemetry;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cria.Server.Tests;

/// <summary>A real Kestrel on 127.0.0.1 with an OS-chosen port, serving the bundled model, and an HttpClient for it.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public ServerMetrics Metrics => _app.Metrics();

    internal ModelRegistry Registry => _app.Services.GetRequiredService<ModelRegistry>();

    /// <summary>Every route the app maps, as ASP.NET Core's endpoint data sources list them at run time.</summary>
    public IReadOnlyList<(string Method, string Pattern)> Routes()
    {
        var routes = new List<(string, string)>();
        foreach (EndpointDataSource source in _app.Services.GetServices<EndpointDataSource>())
        {
            foreach (RouteEndpoint endpoint in source.Endpoints.OfType<RouteEndpoint>())
            {
                string pattern = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
                IReadOnlyList<string> methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
                foreach (string method in methods)
                {
                    routes.Add((method, pattern));
                }
            }
        }
        return routes;
    }

    public static async Task<RunningServer> StartAsync(ServerOptions? options = null, Action<ILoggingBuilder>? logging = null)
    {
        options ??= new ServerOptions();
        WebApplication app = CriaServer.Build(options with { Host = "127.0.0.1", Port = 0 }, builder =>
        {
            builder.SetMinimumLevel(logging is null ? LogLevel.Warning : LogLevel.Information);
            logging?.Invoke(builder);
        });
        await app.StartAsync();
        string url = app.Urls.Single();
        return new RunningServer(app, new Uri(url.TrimEnd('/') + "/"));
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json, CancellationToken cancel = default) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), cancel);

    /// <summary>Sends a request and returns as soon as the headers arrive, for reading a stream line by line.</summary>
    public Task<HttpResponseMessage> PostStreamingAsync(string path, string json, CancellationToken cancel = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        using JsonDocument doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>One server shared by the tests of a class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(new ServerOptions { Parallel = 2 });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
