using System.Diagnostics;
using System.Security.Cryptography;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.Reliability;

/// <summary>
/// A property test: a real `dotnet build` of a real OS image project is killed (SIGKILL of the
/// whole process tree) at a seeded random moment inside one of the four steps, then built again.
/// The result must equal a clean build's byte for byte (data part; the footer's unique id is
/// random by design), pass e2fsck -fn and validation; and whatever the kill left in bin/ must be
/// either nothing or that same image. The seed varies per run (printed; LIMG_KILL_SEED replays
/// one), so CI runs cover different moments: a handful per run keeps the run short.
/// </summary>
[TestClass]
public sealed class KillAnywhereTests
{
    private const int KillsPerRun = 4;

    private static readonly string[] Steps = ["ConvertLinuxImage", "AlignLinuxImage", "PatchLinuxImage", "ValidateLinuxImage"];

    public TestContext TestContext { get; set; } = null!;

    private static readonly Dictionary<string, string> Reproducible = new() { ["SOURCE_DATE_EPOCH"] = "1767225600" };

    private const string Settings = """
          <PropertyGroup>
            <ImageSizeMiB>64</ImageSizeMiB>
          </PropertyGroup>
        """;

    private static DotNet.Result Build(ImageProject project, Func<string, bool>? onLine = null, Action<Process>? started = null) =>
        DotNet.Run(project.Directory, Reproducible, onLine, started, ["build", project.ProjectPath, "-nr:false", "-tl:off", "-v:d"]);

    /// <summary>The data part (everything before the 512-byte footer).</summary>
    private static string DataHash(string vhd)
    {
        using var stream = File.OpenRead(vhd);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1024 * 1024];
        long left = stream.Length - 512;
        while (left > 0)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            hash.AppendData(buffer, 0, n);
            left -= n;
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    [TestMethod]
    public void A_build_killed_at_a_random_moment_is_finished_by_the_next_build_exactly_as_a_clean_build()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("LIMG_KILL_SEED"), out int s) ? s : Environment.TickCount & 0x7FFFFFFF;
        TestContext.WriteLine($"kill seed: {seed} (replay with LIMG_KILL_SEED={seed})");
        Console.WriteLine($"kill seed: {seed}");
        var random = new Random(seed);

        using var reference = new ImageProject();
        SmallGuestDisk.Create(reference["disk.img"]);
        reference.WriteOsDisk("disk.img", Settings);
        var clean = Build(reference);
        Assert.AreEqual(0, clean.ExitCode, clean.Output);
        string expected = DataHash(reference.ImagePath);

        using var project = new ImageProject();
        File.Copy(reference["disk.img"], project["disk.img"]);
        project.WriteOsDisk("disk.img", Settings);
        string bin = Path.GetDirectoryName(project.ImagePath)!;

        for (int i = 0; i < KillsPerRun; i++)
        {
            // Every step in turn, at a random point of it: the delay runs from the step's task start.
            string step = Steps[(i + random.Next(Steps.Length)) % Steps.Length];
            int delayMs = random.Next(0, 1500);
            string moment = $"kill {i + 1}: {step} + {delayMs} ms";
            foreach (string dir in new[] { bin, project["obj/Debug"] })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }

            var stepStarted = new ManualResetEventSlim();
            var killed = Build(project,
                line =>
                {
                    if (line.Contains($"Task \"{step}\"", StringComparison.Ordinal))
                    {
                        stepStarted.Set();
                    }
                    return false;
                },
                process =>
                {
                    if (stepStarted.Wait(TimeSpan.FromMinutes(5)))
                    {
                        Thread.Sleep(delayMs);
                        if (!process.HasExited)
                        {
                            process.Kill(entireProcessTree: true);
                        }
                    }
                });
            bool wasKilled = killed.ExitCode != 0;
            TestContext.WriteLine($"{moment}: {(wasKilled ? "killed" : "the build had already ended")}");
            Assert.IsTrue(stepStarted.IsSet, $"{moment}: the step never started:\n{killed.Output}");

            if (File.Exists(project.ImagePath))
            {
                Assert.AreEqual(expected, DataHash(project.ImagePath), $"{moment}: bin/ holds an image that is not the finished one");
            }

            var next = Build(project);
            Assert.AreEqual(0, next.ExitCode, $"{moment}: the build after the kill failed:\n{next.Output}");
            Assert.AreEqual(expected, DataHash(project.ImagePath), $"{moment}: the rebuilt image differs from a clean build's");
            var compare = ExternalTool.Run("qemu-img", ["compare", "-f", "vpc", "-F", "vpc", reference.ImagePath, project.ImagePath]);
            Assert.AreEqual(0, compare.ExitCode, $"{moment}: {compare.All}");
            var fsck = ExternalTool.Run("e2fsck", ["-fn", SmallGuestDisk.Device(project.ImagePath)]);
            Assert.AreEqual(0, fsck.ExitCode, $"{moment}: e2fsck -fn:\n{fsck.All}");
            using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(project.ReportPath));
            Assert.AreEqual(0, report.RootElement.GetProperty("summary").GetProperty("errors").GetInt32(), $"{moment}: validation errors");
        }
    }
}
