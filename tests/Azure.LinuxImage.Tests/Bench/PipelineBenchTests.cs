using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Bench;

/// <summary>
/// bench/pipeline.sh in its short mode (one run of each step, the zstd sample only): proves the
/// bench still runs against this checkout's SDK and prints every row. Its timings are not judged.
/// </summary>
[TestClass]
public sealed class PipelineBenchTests
{
    [TestMethod]
    public void The_pipeline_bench_runs_in_short_mode_and_prints_its_table()
    {
        string script = $"LIMG_BENCH_FEED='{SdkPackage.Feed}' LIMG_BENCH_VERSION='{SdkPackage.Version}' LIMG_BENCH_SAMPLE='{SampleDisk.Path}' "
            + $"bash '{RepositoryPaths.Combine("bench", "pipeline.sh")}' --short";
        var r = ExternalTool.Run("bash", ["-euo", "pipefail", "-c", script], RepositoryPaths.Root, timeoutSeconds: 1800);
        Assert.AreEqual(0, r.ExitCode, r.All);
        StringAssert.Contains(r.StdOut, "| zstd: first build minus no-op build (pipeline work) |");
        StringAssert.Contains(r.StdOut, "| zstd: rebuild after one kernel parameter |");
        // The sampler saw the tool: an empty sample would print 0 MiB.
        StringAssert.Matches(r.StdOut, new System.Text.RegularExpressions.Regex(@"\| zstd: peak RSS, largest linuximage process \| new \| [1-9][0-9]* MiB \|"));
        StringAssert.Contains(r.StdOut, "| convert on ");
    }
}
