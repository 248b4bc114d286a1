using Cria.Hosting;
using Cria.Server.Audit;
using Cria.Server.Auth;
using Cria.Server.Engine;
using Cria.Server.Guard;
using Cria.Server.Http;
using Cria.Server.Ollama;
using Cria.Server.OpenAi;
using Cria.Server.Requests;
using Cria.Server.Telemetry;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using OpenTelemetry.Metrics;

namespace Cria.Server;

/// <summary>
/// Builds the <c>cria serve</c> web application: Kestrel on one address, CORS when asked for, API keys
/// and quotas when required, the OpenAI and Ollama routes, <c>/health</c>, <c>/metrics</c> (Cria's, ASP.NET Core's and the runtime's meters). Models are checked to exist here and loaded on first use.
/// </summary>
public static class CriaServer
{
    /// <summary>The .NET runtime's built-in meter, exported at /metrics beside Cria's and ASP.NET Core's.</summary>
    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>Builds the app; start it with <c>StartAsync</c>/<c>RunAsync</c>. Throws for bad options or a missing model file.</summary>
    public static WebApplication Build(ServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // A bad certificate or key stops the build here, naming the file, rather than the first TLS handshake.
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = options.Tls?.Load();
        var registry = new ModelRegistry(options);
        AuditStore? audit = null;
        LlamaGuardModels? guardModels = null;
        try
        {
            guardModels = LlamaGuardModels.Bind(options.Guard, registry);
            audit = OpenAudit(options.Audit);
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            logging?.Invoke(builder.Logging);
            // Pinned after the caller's settings: ASP.NET Core's request lines print the whole URL, query string
            // included, and Kestrel's bad-request lines the raw request line or header; a key or token sent where it
            // does not belong would land in the log. Cria's own lines name the route and the key's name instead.
            builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                options.Connections.Apply(kestrel);
                kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
                kestrel.AddServerHeader = false;
                ListenAddress.Listen(kestrel, options.Host, options.Port, certificate);
            });
            builder.Services.AddOpenTelemetry().WithMetrics(m => m
                .AddMeter(ServerMetrics.MeterName, AuditWriter.MeterName)
                // The runtime's own meter (.NET 9+): GC heap sizes and collections, allocations, thread-pool
                // threads, lock contention, exceptions, working set; bench/soak reads these to see memory stay flat.
                .AddMeter(RuntimeMeterName)
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());
            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton(sp => new ServerMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
                () => registry.Loaded().Count,
                () =>
                {
                    IReadOnlyList<ServedModel> loaded = registry.Loaded();
                    return (loaded.Sum(m => m.KvTokensInUse), loaded.Sum(m => m.KvCapacityTokens));
                },
                () => registry.Loaded().Sum(m => (long)m.Preemptions)));
            builder.Services.AddSingleton(registry);
            if (audit is not null)
            {
                AuditStore store = audit;
                builder.Services.AddSingleton(options.Audit!);
                builder.Services.AddSingleton(sp => new AuditWriter(store, options.Audit!,
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger("Cria.Audit"), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
                builder.Services.AddHostedService(sp => sp.GetRequiredService<AuditWriter>());
            }
            builder.Services.AddSingleton<RequestLog>();
            builder.Services.AddSingleton(sp => new GenerationSlots(options.Parallel, options.MaxQueue, sp.GetRequiredService<ServerMetrics>()));
            builder.Services.AddSingleton(sp => new EmbeddingService(registry, sp.GetRequiredService<GenerationSlots>()));
            builder.Services.AddSingleton(sp => new GenerationService(
                registry, sp.GetRequiredService<GenerationSlots>(), sp.GetRequiredService<ServerMetrics>(), sp.GetRequiredService<RequestLog>(), options,
                sp.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping));
            if (options.CorsOrigins.Count > 0)
            {
                builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
                {
                    if (options.CorsOrigins.Contains("*"))
                    {
                        policy.AllowAnyOrigin();
                    }
                    else
                    {
                        policy.WithOrigins([.. options.CorsOrigins]);
                    }
                    policy.AllowAnyHeader().AllowAnyMethod();
                }));
            }
            if (options.RateLimitPerMinute > 0)
            {
                RateLimits.Add(builder.Services, options.RateLimitPerMinute);
            }
            KeyStore? keys = options.KeysRequired ? new KeyStore(options.DataDirectory ?? KeyStore.DefaultDataDirectory()) : null;
            WebApplication app = builder.Build();
            registry.Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cria.Engine");
            if (audit is not null)
            {
                app.UseMiddleware<AuditMiddleware>(); // first: it sees every request, refused ones too
            }
            if (options.CorsOrigins.Count > 0)
            {
                app.UseCors();
            }
            if (keys is not null)
            {
                app.UseMiddleware<KeyAuthMiddleware>(keys, new QuotaTracker());
            }
            if (options.RateLimitPerMinute > 0)
            {
                RateLimits.Use(app);
            }
            app.MapPrometheusScrapingEndpoint("/metrics");
            app.MapGet("/", () => Results.Text("Cria is running\n"));
            app.MapGet("/health", http => EventStream.WriteJsonAsync(http.Response, new OllamaHealthResponse { Status = "ok" },
                OllamaJsonContext.Api.OllamaHealthResponse, http.RequestAborted));
            OpenAiEndpoints.Map(app);
            OllamaEndpoints.Map(app);
            return app;
        }
        catch
        {
            guardModels?.Dispose();
            audit?.Dispose();
            registry.Dispose();
            certificate?.Dispose();
            throw;
        }
    }

    /// <summary>Opens (creating) the audit log and its key; a forged head or a file that is not an audit log stops the server from starting.</summary>
    private static AuditStore? OpenAudit(AuditOptions? options)
    {
        if (options is null)
        {
            return null;
        }
        byte[] key = AuditKey.LoadOrCreate(options.KeyPath);
        AuditStore store = AuditStore.Open(options.DatabasePath, key, create: true);
        try
        {
            store.CheckHead();
        }
        catch
        {
            store.Dispose();
            throw;
        }
        return store;
    }

    /// <summary>The server's counters (also exported at <c>/metrics</c>).</summary>
    public static ServerMetrics Metrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<ServerMetrics>();
    }
}
