using System.Xml;
using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Settings;

namespace Azure.LinuxImage.Cli.Settings;

/// <summary>
/// Finds where the project file states a setting, so that a refused value is reported at its line
/// (an IDE jumps there). A value set elsewhere (-p:, Directory.Build.props) is reported at the project.
/// </summary>
internal static class ProjectFileLocator
{
    public static Diagnostic Locate(SettingProblem problem, string? projectFile)
    {
        var diagnostic = problem.Diagnostic with { File = projectFile };
        if (projectFile is null || !File.Exists(projectFile))
        {
            return diagnostic;
        }
        try
        {
            var (line, column) = Find(projectFile, problem.Setting, problem.Item);
            return diagnostic with { Line = line, Column = column };
        }
        catch (XmlException)
        {
            return diagnostic;
        }
    }

    private static (int Line, int Column) Find(string projectFile, Setting setting, string? item)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true };
        using var reader = XmlReader.Create(projectFile, settings);
        var info = (IXmlLineInfo)reader;
        (int, int) found = (0, 0);
        while (reader.Read())
        {
            if (reader.NodeType != XmlNodeType.Element || !string.Equals(reader.LocalName, setting.Name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (setting.IsItem && item is not null)
            {
                string include = reader.GetAttribute("Include") ?? string.Empty;
                if (!include.Split(';').Any(i => string.Equals(i.Trim(), item.Trim(), StringComparison.Ordinal)))
                {
                    continue;
                }
            }
            // The last one: for a property it is the value MSBuild kept.
            found = (info.LineNumber, info.LinePosition);
        }
        return found;
    }
}
