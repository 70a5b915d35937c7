using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Azure.LinuxImage.Engine.FileSystems.Ext4;
using Azure.LinuxImage.Tests.Infrastructure;

namespace Azure.LinuxImage.Tests.FileSystems;

/// <summary>Our htree hashes against debugfs's dx_hash, for every algorithm, seeded and not, short and long, ASCII and not.</summary>
[TestClass]
public sealed partial class Ext4DirectoryHashTests
{
    [TestMethod]
    public void Hashes_match_debugfs()
    {
        using var img = Ext4TestImage.Create("hash", 2, ["-t", "ext4"]);
        string[] names = ["hello", "a", new string('a', 40), "sshd_config", "entry-02999-with-a-longer-name", new string('z', 255), "ünïcödé-名前", "x.d"];
        // debugfs knows the unsigned variants only by number (0-5 = legacy, half_md4, tea, and their unsigned forms).
        string[] algorithms = ["0", "1", "2", "3", "4", "5"];
        string seedText = "12345678-9abc-def0-1234-56789abcdef0";
        var seedBytes = Guid.Parse(seedText).ToByteArray(bigEndian: true);
        uint[] seed = [.. Enumerable.Range(0, 4).Select(i => BitConverter.ToUInt32(seedBytes, i * 4))];
        var commands = new StringBuilder();
        foreach (string alg in algorithms)
        {
            foreach (string name in names)
            {
                commands.Append(CultureInfo.InvariantCulture, $"dx_hash -h {alg} {name}\n");
                commands.Append(CultureInfo.InvariantCulture, $"dx_hash -h {alg} -s {seedText} {name}\n");
            }
        }
        string cmdFile = img.Temp["cmds"];
        File.WriteAllText(cmdFile, commands.ToString());
        var results = HashLine().Matches(ExternalTool.RunChecked("debugfs", "-f", cmdFile, img.ImagePath).StdOut).Select(m => uint.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToList();
        Assert.AreEqual(algorithms.Length * names.Length * 2, results.Count);
        int at = 0;
        for (int a = 0; a < algorithms.Length; a++)
        {
            foreach (string name in names)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(name);
                Assert.AreEqual(results[at++], Ext4DirectoryHash.Hash(bytes, a, [0, 0, 0, 0]), $"{algorithms[a]} {name}");
                Assert.AreEqual(results[at++], Ext4DirectoryHash.Hash(bytes, a, seed), $"{algorithms[a]} seeded {name}");
            }
        }
    }

    [GeneratedRegex(@"Hash of .* is 0x([0-9a-f]+)")]
    private static partial Regex HashLine();
}
