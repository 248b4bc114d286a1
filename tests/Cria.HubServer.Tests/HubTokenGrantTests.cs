namespace Cria.HubServer.Tests;

/// <summary>Token files with per-namespace grants: what each line means, and bad lines refused naming the line, never the token.</summary>
public sealed class HubTokenGrantTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cria-grants-").FullName;

    [Fact]
    public void A_bare_token_pushes_and_pulls_everywhere_and_grants_limit_it_to_their_namespaces()
    {
        string path = Path.Combine(_dir, "tokens");
        File.WriteAllText(path, "# the team\n\nadmin-token-0123456789\nalice-token-0123456789  push:alice pull:*\n\treader-token-012345678 pull:team-x\tpull:Bob\n");
        IReadOnlyList<HubTokenGrant> grants = HubTokenGrant.ReadFile(path);
        Assert.Equal(3, grants.Count);
        HubTokenGrant admin = grants[0], alice = grants[1], reader = grants[2];
        Assert.True(admin.MayPush("anyone") && admin.MayPull("anyone"));
        Assert.True(alice.MayPush("alice") && alice.MayPush("ALICE") && !alice.MayPush("bob") && alice.MayPull("bob"));
        Assert.True(reader.MayPull("team-x") && reader.MayPull("bob") && !reader.MayPull("alice") && !reader.MayPush("team-x"));
        Assert.Equal("reader-token-012345678", reader.Token);
    }

    [Theory]
    [InlineData("secret-token-0123456789 write:alice", 1)]
    [InlineData("secret-token-0123456789 push:", 1)]
    [InlineData("secret-token-0123456789 push:../etc", 1)]
    [InlineData("ok-token-0123456789ab\nsecret-token-0123456789 pull:alice push", 2)]
    public void A_bad_grant_is_refused_naming_the_line_and_not_the_token(string text, int line)
    {
        string path = Path.Combine(_dir, "tokens");
        File.WriteAllText(path, text);
        ArgumentException e = Assert.Throws<ArgumentException>(() => HubTokenGrant.ReadFile(path));
        Assert.Contains($"{path}:{line}", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_file_over_a_mebibyte_is_refused_before_it_is_read()
    {
        string path = Path.Combine(_dir, "tokens");
        File.WriteAllText(path, new string('a', HubTokenGrant.MaxFileBytes + 1));
        ArgumentException e = Assert.Throws<ArgumentException>(() => HubTokenGrant.ReadFile(path));
        Assert.Contains("larger than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_refuse_a_short_token_in_a_grant_and_a_private_namespace_that_is_no_name()
    {
        Assert.Throws<ArgumentException>(() => new HubServerOptions { Home = _dir, Grants = [HubTokenGrant.ParseLine("short push:alice", "t:1")] }.Validate());
        Assert.Throws<ArgumentException>(() => new HubServerOptions { Home = _dir, PrivateNamespaces = ["a/b"] }.Validate());
        new HubServerOptions { Home = _dir, Grants = [HubTokenGrant.ParseLine("long-enough-token-0123 push:alice", "t:1")], PrivateNamespaces = ["alice", "*"] }.Validate();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
