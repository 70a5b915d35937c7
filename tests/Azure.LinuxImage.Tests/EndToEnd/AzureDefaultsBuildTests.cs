using System.Text.Json;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.EndToEnd;

/// <summary>
/// Issue 16 through `dotnet build`: the minimal project on the real Debian sample disk (waagent
/// whose configuration names an absent cloud-init) builds without any WaagentSetting, says at the
/// default verbosity which agent it chose, and reports the new rules in JSON and SARIF.
/// </summary>
[TestClass]
public sealed class AzureDefaultsBuildTests
{
    [TestMethod]
    [Timeout(1800_000, CooperativeCancellation = true)]
    public void Minimal_project_on_the_sample_disk_builds_and_says_which_agent_provisions()
    {
        using var project = new ImageProject();
        project.WriteOsDisk(SampleDisk.Path);
        var build = project.Build("-v:m");
        Assert.AreEqual(0, build.ExitCode, build.Output[^Math.Min(build.Output.Length, 6000)..]);
        StringAssert.Contains(build.Output, "LIMG0550: waagent.conf had Provisioning.Agent=cloud-init, but cloud-init is not installed; the SDK set Provisioning.Agent=auto");

        string conf = ExternalTool.RunChecked("debugfs", "-R", "cat /etc/waagent.conf", project.ImagePath + "?offset=1048576").StdOut;
        StringAssert.Contains(conf, "\nProvisioning.Agent=auto\n");
        StringAssert.Contains(conf, "\nResourceDisk.Format=y\n");
        StringAssert.Contains(conf, "\nResourceDisk.EnableSwap=y\n");

        using var report = JsonDocument.Parse(File.ReadAllText(project.ReportPath));
        var rules = report.RootElement.GetProperty("rules").EnumerateArray()
            .Select(r => (Rule: r.GetProperty("rule").GetString()!, Code: r.GetProperty("code").GetString()!, Result: r.GetProperty("result").GetString()!)).ToList();
        CollectionAssert.Contains(rules, ("provisioning", "LIMG0501", "passed"));
        CollectionAssert.Contains(rules, ("resource-disk", "LIMG0552", "passed"));
        CollectionAssert.Contains(rules, ("azure.disk-names", "LIMG0557", "passed"));
        CollectionAssert.Contains(rules, ("azure.time-sync", "LIMG0556", "failed"), "the sample has no chrony");
        Assert.AreEqual(3, rules.Count(r => r.Rule == "azure.accelerated-networking" && r.Result == "passed"));
        StringAssert.Contains(build.Output, "warning LIMG0556");

        string sarif = File.ReadAllText(Path.ChangeExtension(project.ReportPath, ".sarif"));
        StringAssert.Contains(sarif, "\"ruleId\": \"LIMG0556\"");
    }
}
