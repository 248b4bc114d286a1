using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Cria.Server.Tests;

/// <summary>
/// Bodies no client should send, from the reliability issue's probe: invalid UTF-8 inside a JSON
/// string and escapes of unpaired surrogates are a 400 on every generation route (they were a 500 on
/// the OpenAI routes), and a chunked body past the limit is a 413 like a declared one.
/// </summary>
public sealed class HostileBodyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    public static TheoryData<string, string> Bodies() => new()
    {
        { "v1/completions", """{"model":"stories260K","prompt":"%","max_tokens":2}""" },
        { "v1/chat/completions", """{"model":"stories260K","messages":[{"role":"user","content":"%"}],"max_tokens":2}""" },
        { "api/generate", """{"model":"stories260K","prompt":"%","stream":false,"options":{"num_predict":2}}""" },
        { "api/chat", """{"model":"stories260K","messages":[{"role":"user","content":"%"}],"stream":false,"options":{"num_predict":2}}""" },
        { "v1/embeddings", """{"model":"stories260K","input":"%"}""" },
        { "api/embed", """{"model":"stories260K","input":"%"}""" },
    };

    private async Task<HttpResponseMessage> PostBytesAsync(string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await Server.Http.PostAsync(path, content);
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Invalid_utf8_in_a_string_is_400_naming_the_byte(string path, string template)
    {
        foreach (byte[] bad in new[] { new byte[] { 0xFF }, [0xC0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82] })
        {
            int at = Encoding.UTF8.GetByteCount(template[..template.IndexOf('%', StringComparison.Ordinal)]);
            byte[] body = [.. Encoding.UTF8.GetBytes(template[..template.IndexOf('%', StringComparison.Ordinal)]), .. bad, .. Encoding.UTF8.GetBytes(template[(template.IndexOf('%', StringComparison.Ordinal) + 1)..])];
            using HttpResponseMessage response = await PostBytesAsync(path, body);
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {text}");
            Assert.Contains($"not valid UTF-8 (byte {at})", text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task An_escaped_unpaired_surrogate_is_400_and_a_paired_one_works(string path, string template)
    {
        foreach (string bad in new[] { "\\ud800", "x\\udc00y", "\\ud83d\\u0041" })
        {
            using HttpResponseMessage response = await Server.PostJsonAsync(path, template.Replace("%", bad, StringComparison.Ordinal));
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path} {bad}: {(int)response.StatusCode} {text}");
            Assert.Contains("not valid Unicode", text, StringComparison.Ordinal);
        }
        using HttpResponseMessage ok = await Server.PostJsonAsync(path, template.Replace("%", "a \\u00e9 \\ud83d\\ude00", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Server.BaseAddress.Host, Server.BaseAddress.Port);
        using NetworkStream stream = tcp.GetStream();
        stream.ReadTimeout = 30_000;
        string head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        byte[] chunk = Encoding.ASCII.GetBytes($"{64 * 1024:x}\r\n{new string('a', 64 * 1024)}\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes("11\r\n{\"prompt\":\"aaaaaa\r\n"));
        try
        {
            for (int i = 0; i < 24; i++) // 1.5 MiB, past the 1 MiB limit
            {
                await stream.WriteAsync(chunk);
            }
        }
        catch (IOException)
        {
            // The server may close its side as soon as it has answered.
        }
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string status = (await reader.ReadLineAsync())!;
        Assert.StartsWith("HTTP/1.1 413", status, StringComparison.Ordinal);
        string rest = await reader.ReadToEndAsync();
        string json = rest[rest.IndexOf('{', StringComparison.Ordinal)..(rest.LastIndexOf('}') + 1)];
        Assert.Equal("request_too_large", JsonDocument.Parse(json).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData(2_000_000_000)]
    [InlineData(int.MaxValue)]
    [InlineData(100_000)]
    public async Task A_huge_penalty_window_means_the_whole_context_not_an_allocation(int window)
    {
        string body = $$$"""{"model":"stories260K","prompt":"Once","stream":false,"options":{"num_predict":4,"repeat_last_n":{{{window}}},"repeat_penalty":1.1}}""";
        using HttpResponseMessage response = await Server.PostJsonAsync("api/generate", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
