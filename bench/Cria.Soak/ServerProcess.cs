using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Cria.Soak;

/// <summary>
/// <c>cria serve</c> as a child process, as a user runs it: its own CRIA_HOME in a temp folder holding one key
/// made by <c>cria keys create</c>, <c>--require-key</c>, loopback only. Its output goes to a log file (drained
/// continuously, so a full pipe never blocks the server). Disposing stops it with SIGTERM, then SIGKILL.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly string _home;

    private ServerProcess(Process process, StreamWriter log, string home, Uri baseAddress, string key)
    {
        _process = process;
        _log = log;
        _home = home;
        BaseAddress = baseAddress;
        Key = key;
    }

    public Uri BaseAddress { get; }

    /// <summary>The secret of the key the server accepts.</summary>
    public string Key { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string LogPath => Path.Combine(_home, "serve.log");

    public static async Task<ServerProcess> StartAsync(SoakOptions options)
    {
        string cria = Path.GetFullPath(options.Cria);
        string model = Path.GetFullPath(options.Model);
        if (!File.Exists(cria))
        {
            throw new FileNotFoundException($"no cria executable at {cria}: build src/Cria.Cli -c Release first (bench/soak does)");
        }
        if (!File.Exists(model))
        {
            throw new FileNotFoundException($"no model at {model}");
        }
        string home = Directory.CreateTempSubdirectory("cria-soak-").FullName;
        string key = (await RunAsync(cria, home, ["keys", "create", "soak"])).Trim();
        if (!key.StartsWith("cria-", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"cria keys create printed \"{key}\", not a key");
        }
        int port = FreePort();
        var start = Info(cria, home, ["serve", "--model", $"stories260K={model}", "--require-key", "--parallel", options.Parallel.ToString(CultureInfo.InvariantCulture),
            "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture)]);
        var log = new StreamWriter(Path.Combine(home, "serve.log")) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, log, home, new Uri($"http://127.0.0.1:{port}/"), key);
        await server.WaitHealthyAsync();
        return server;
    }

    /// <summary>The last lines of the server's log, for a report of what went wrong.</summary>
    public string LogTail(int lines)
    {
        lock (_log)
        {
            string[] all = File.ReadAllLines(LogPath);
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
    }

    /// <summary>Lines of the server's log that contain <paramref name="text"/>.</summary>
    public int LogCount(string text)
    {
        lock (_log)
        {
            return File.ReadLines(LogPath).Count(l => l.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>SIGTERM and the exit code of a graceful stop, or null when it had to be killed.</summary>
    public async Task<int?> StopAsync()
    {
        if (_process.HasExited)
        {
            return _process.ExitCode;
        }
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    /// <summary>Deletes the temp CRIA_HOME (keys database and log); call after the log has been read.</summary>
    public void DeleteHome() => Directory.Delete(_home, recursive: true);

    private async Task WaitHealthyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"cria serve exited with {_process.ExitCode} before it answered /health:\n{LogTail(20)}");
            }
            try
            {
                using HttpResponseMessage r = await http.GetAsync(new Uri("health", UriKind.Relative));
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"cria serve did not answer /health within 60 s:\n{LogTail(20)}");
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (log)
        {
            log.WriteLine(line);
        }
    }

    private static ProcessStartInfo Info(string cria, string home, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(cria, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["CRIA_HOME"] = home;
        info.Environment["NO_COLOR"] = "1";
        return info;
    }

    private static async Task<string> RunAsync(string cria, string home, IEnumerable<string> args)
    {
        using var process = Process.Start(Info(cria, home, args))!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"cria {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
        }
        return await stdout;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
