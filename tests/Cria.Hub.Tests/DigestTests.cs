namespace Cria.Hub.Tests;

public sealed class DigestTests
{
    private const string Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; // sha256 of nothing

    [Fact]
    public void Digest_of_empty_content_is_the_known_value()
    {
        Digest d = Digest.Of([]);
        Assert.Equal("sha256:" + Hex, d.ToString());
        Assert.Equal("sha256-" + Hex, d.FileName);
        Assert.Equal(Hex[..12], d.ShortId);
        Assert.Equal(d, Digest.Parse("sha256:" + Hex));
        Assert.True(Digest.TryParseFileName("sha256-" + Hex, out Digest? f));
        Assert.Equal(d, f);
    }

    [Theory]
    [InlineData("", "empty digest")]
    [InlineData("sha256:", "exactly 64 hex digits")]
    [InlineData("sha256:abc", "exactly 64 hex digits")]
    [InlineData("sha512:" + Hex, "must start with \"sha256:\"")]
    [InlineData("sha256-" + Hex, "must start with \"sha256:\"")]
    [InlineData("SHA256:" + Hex, "must start with \"sha256:\"")]
    [InlineData("sha256:" + "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "only lowercase hex")]
    [InlineData("sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "only lowercase hex")]
    [InlineData("sha256:" + Hex + "/", "exactly 64 hex digits")]
    [InlineData("sha256:" + Hex + "\0", "exactly 64 hex digits")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g", "'g' at position 70")]
    [InlineData("../sha256:" + Hex, "must start with")]
    public void Rejects_anything_but_sha256_and_64_lowercase_hex(string text, string reason)
    {
        Assert.False(Digest.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error);
        Assert.Throws<HubException>(() => Digest.Parse(text));
        Assert.False(Digest.TryParseFileName(text.Replace("sha256:", "sha256-", StringComparison.Ordinal) + "-partial", out _));
    }
}
