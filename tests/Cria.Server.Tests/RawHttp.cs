using System.Net.Sockets;
using System.Text;

namespace Cria.Tests.Http;

/// <summary>HTTP/1.1 over a bare TCP socket, for what HttpClient will not do: hold a connection, send a header a byte at a time.</summary>
internal sealed class RawHttp : IDisposable
{
    private readonly TcpClient _tcp = new();
    private NetworkStream? _stream;

    public NetworkStream Stream => _stream ?? throw new InvalidOperationException("not connected");

    public static async Task<RawHttp> ConnectAsync(Uri server)
    {
        var raw = new RawHttp();
        await raw._tcp.ConnectAsync(server.Host, server.Port);
        raw._stream = raw._tcp.GetStream();
        return raw;
    }

    /// <summary>Sends a GET on this connection (kept alive) and returns the status code and body; null when the server closed the connection instead.</summary>
    public async Task<(int Status, string Body)?> GetAsync(string path, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await Stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), cancel.Token);
            return await ReadResponseAsync(cancel.Token);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Reads one response: status line, headers, then a Content-Length or chunked body; null at end of stream.</summary>
    public async Task<(int Status, string Body)?> ReadResponseAsync(CancellationToken cancel)
    {
        string? status = await ReadLineAsync(cancel);
        if (status is null)
        {
            return null;
        }
        int length = -1;
        bool chunked = false;
        for (string? line = await ReadLineAsync(cancel); !string.IsNullOrEmpty(line); line = await ReadLineAsync(cancel))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
            chunked |= line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        }
        var body = new StringBuilder();
        if (chunked)
        {
            for (int size = ChunkSize(await ReadLineAsync(cancel)); size > 0; size = ChunkSize(await ReadLineAsync(cancel)))
            {
                body.Append(Encoding.UTF8.GetString(await ReadBytesAsync(size, cancel)));
                await ReadLineAsync(cancel);
            }
            await ReadLineAsync(cancel);
        }
        else if (length > 0)
        {
            body.Append(Encoding.UTF8.GetString(await ReadBytesAsync(length, cancel)));
        }
        return (int.Parse(status.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), body.ToString());
    }

    private static int ChunkSize(string? line) => line is null ? 0 : Convert.ToInt32(line.Split(';')[0].Trim(), 16);

    private async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancel)
    {
        byte[] bytes = new byte[count];
        await Stream.ReadExactlyAsync(bytes, cancel);
        return bytes;
    }

    /// <summary>One CRLF-terminated line, read a byte at a time so nothing past it is consumed; null at end of stream.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken cancel)
    {
        var line = new StringBuilder();
        byte[] one = new byte[1];
        while (true)
        {
            if (await Stream.ReadAsync(one, cancel) == 0)
            {
                return line.Length == 0 ? null : line.ToString();
            }
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }
            line.Append((char)one[0]);
        }
    }

    public void Dispose() => _tcp.Dispose();
}
