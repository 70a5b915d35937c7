using System.Text.Json;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>The tool's contract with scripts: results on stdout, diagnostics on stderr, one exit code per kind of failure.</summary>
[TestClass]
public sealed class CliContractTests
{
    private const long MiB = 1024 * 1024;

    [TestMethod]
    public void Results_go_to_stdout_and_errors_to_stderr()
    {
        using var temp = new TempDir("cli");
        string raw = DiskFixtures.Raw(temp["disk.img"], 4 * MiB, 8192);

        var ok = LinuxImageTool.Run("info", raw);
        Assert.AreEqual(0, ok.ExitCode, ok.All);
        StringAssert.Contains(ok.StdOut, "virtual size: 4194304 bytes");
        Assert.AreEqual(string.Empty, ok.StdErr);

        var missing = LinuxImageTool.Run("info", temp["nope.img"]);
        Assert.AreEqual(1, missing.ExitCode, missing.All);
        StringAssert.Contains(missing.StdErr, "error LIMG0002");
        Assert.DoesNotContain("LIMG0002", missing.StdOut);
    }

    [TestMethod]
    public void Exit_codes_tell_rejected_input_from_usage_errors_and_are_documented()
    {
        var usage = LinuxImageTool.Run("convert", "only-one-argument.img");
        Assert.AreEqual(2, usage.ExitCode, usage.All);
        Assert.AreNotEqual(string.Empty, usage.StdErr.Trim(), "the parse error is on stderr");

        var unknownCommand = LinuxImageTool.Run("transmogrify");
        Assert.AreEqual(2, unknownCommand.ExitCode, unknownCommand.All);

        var help = LinuxImageTool.Run("--help");
        Assert.AreEqual(0, help.ExitCode, help.All);
        foreach (string line in new[] { "0 success", "1 the input was rejected", "2 usage error", "3 internal error", "standard error" })
        {
            StringAssert.Contains(help.StdOut, line);
        }
    }

    [TestMethod]
    public void Json_output_is_json_for_errors_too()
    {
        using var temp = new TempDir("cli");
        File.WriteAllBytes(temp["junk.img"], new byte[1000]);

        var failed = LinuxImageTool.Run("info", temp["junk.img"], "--json");

        Assert.AreEqual(1, failed.ExitCode, failed.All);
        using var doc = JsonDocument.Parse(failed.StdOut);
        Assert.AreEqual(1, doc.RootElement.GetProperty("exitCode").GetInt32());
        var diagnostic = doc.RootElement.GetProperty("diagnostics").EnumerateArray().Single();
        StringAssert.StartsWith(diagnostic.GetProperty("code").GetString(), "LIMG01");
        Assert.AreEqual("error", diagnostic.GetProperty("severity").GetString());
        StringAssert.Contains(failed.StdErr, "error LIMG01");
    }
}
