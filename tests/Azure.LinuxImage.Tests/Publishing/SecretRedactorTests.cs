using Azure.LinuxImage.Publishing;

namespace Azure.LinuxImage.Tests.Publishing;

[TestClass]
public sealed class SecretRedactorTests
{
    private const string Key = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWstMTIzNDU2Nzg5MA==";
    private const string Sas = "sv=2025-01-05&ss=b&srt=o&sp=rcw&se=2030-01-01T00:00:00Z&sig=AbCdEf%2BgHiJkLmNoPqRsTuVwXyZ0123456789%3D";

    [TestMethod]
    public void Known_secrets_are_masked_raw_and_url_encoded()
    {
        string connection = $"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={Key};EndpointSuffix=core.windows.net";
        var redactor = new SecretRedactor(connection, "?" + Sas);

        string text = redactor.Redact($"conn '{connection}' key {Key} escaped {Uri.EscapeDataString(Key)} sas ?{Sas} tail");

        Assert.DoesNotContain(Key, text);
        Assert.DoesNotContain(Uri.EscapeDataString(Key), text);
        Assert.DoesNotContain("AbCdEf", text);
        StringAssert.Contains(text, "tail");
    }

    [TestMethod]
    public void Unknown_signatures_and_account_keys_are_masked_by_pattern()
    {
        var redactor = new SecretRedactor();

        string text = redactor.Redact("https://a.blob.core.windows.net/c/b?sv=1&sig=TopSecretSignature123 and AccountKey=AnotherSecret456==;x=y");

        Assert.DoesNotContain("TopSecretSignature123", text);
        Assert.DoesNotContain("AnotherSecret456", text);
        StringAssert.Contains(text, "sig=***");
    }

    [TestMethod]
    public void DescribeUri_drops_the_query()
    {
        Assert.AreEqual("https://a.blob.core.windows.net/c/b.vhd",
            SecretRedactor.DescribeUri(new Uri("https://a.blob.core.windows.net/c/b.vhd?sv=1&sig=x")));
    }
}

[TestClass]
public sealed class SasTokenTests
{
    [TestMethod]
    public void Escaped_and_MSBuild_unescaped_forms_normalize_to_the_same_token()
    {
        const string escaped = "sv=2025-01-05&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=rcw&sig=Ab%2Bc%2Fd%3D";
        const string unescaped = "sv=2025-01-05&se=2030-01-01T00:00:00Z&sr=b&sp=rcw&sig=Ab+c/d=";

        Assert.AreEqual(escaped, SasToken.Normalize(escaped));
        Assert.AreEqual(escaped, SasToken.Normalize("?" + unescaped));
        Assert.AreEqual("Ab+c/d=", SasToken.Signature(escaped));
        Assert.AreEqual("Ab+c/d=", SasToken.Signature(unescaped));
    }
}
