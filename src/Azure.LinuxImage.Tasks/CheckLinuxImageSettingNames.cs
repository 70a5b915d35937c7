using System;
using System.Collections.Generic;
using System.Linq;
using System.Xml;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>
    /// Warns about a property or item in the project whose name is close to one of the SDK's settings
    /// (Deprovison, KernelParamter, WaagentSettings): MSBuild accepts any name, so a misspelt setting
    /// would silently do nothing. Runs in process on every build (it only reads the project file), so
    /// the warning does not vanish when the steps are up to date. The known names, code and message
    /// come from the settings and diagnostic catalogs through the SDK's generated files.
    /// </summary>
    public sealed class CheckLinuxImageSettingNames : Task
    {
        [Required]
        public string ProjectFile { get; set; } = string.Empty;

        /// <summary>Include = a setting's name, metadata Kind = property or item.</summary>
        public ITaskItem[] KnownSettings { get; set; } = Array.Empty<ITaskItem>();

        [Required]
        public string Code { get; set; } = string.Empty;

        /// <summary>{0} property or item, {1} the name in the project, {2} the setting it is close to.</summary>
        [Required]
        public string MessageTemplate { get; set; } = string.Empty;

        public string? HelpBaseUri { get; set; }

        public override bool Execute()
        {
            var known = KnownSettings.Select(k => k.ItemSpec).ToList();
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true };
            string? help = string.IsNullOrEmpty(HelpBaseUri) ? null : HelpBaseUri!.TrimEnd('/') + "/diagnostics/" + Code + ".md";
            try
            {
                using var reader = XmlReader.Create(ProjectFile, settings);
                var info = (IXmlLineInfo)reader;
                var parents = new Stack<string>();
                while (reader.Read())
                {
                    if (reader.NodeType == XmlNodeType.EndElement)
                    {
                        parents.Pop();
                        continue;
                    }
                    if (reader.NodeType != XmlNodeType.Element)
                    {
                        continue;
                    }
                    string parent = parents.Count > 0 ? parents.Peek() : string.Empty;
                    string name = reader.LocalName;
                    string? kind = parent == "PropertyGroup" ? "property" : parent == "ItemGroup" ? "item" : null;
                    if (kind is not null && !known.Contains(name, StringComparer.OrdinalIgnoreCase) && Closest(name, known) is { } suggestion)
                    {
                        Log.LogWarning(null, Code, Code, help, ProjectFile, info.LineNumber, info.LinePosition, 0, 0, MessageTemplate, kind, name, suggestion);
                    }
                    if (!reader.IsEmptyElement)
                    {
                        parents.Push(name);
                    }
                }
            }
            catch (XmlException)
            {
                // MSBuild has already reported a project it cannot read.
            }
            return !Log.HasLoggedErrors;
        }

        /// <summary>The known name within a typo or two (one for short names), if there is exactly one closest.</summary>
        internal static string? Closest(string name, IEnumerable<string> known)
        {
            int limit = name.Length <= 6 ? 1 : 2;
            var best = known.Select(k => (Name: k, Distance: Distance(name.ToUpperInvariant(), k.ToUpperInvariant())))
                .Where(c => c.Distance <= limit)
                .OrderBy(c => c.Distance)
                .ToList();
            return best.Count > 0 && (best.Count == 1 || best[0].Distance < best[1].Distance) ? best[0].Name : null;
        }

        /// <summary>Edits (insert, delete, replace, swap two neighbours) between two names.</summary>
        internal static int Distance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (int i = 0; i <= a.Length; i++)
            {
                d[i, 0] = i;
            }
            for (int j = 0; j <= b.Length; j++)
            {
                d[0, j] = j;
            }
            for (int i = 1; i <= a.Length; i++)
            {
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                    if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    {
                        d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                    }
                }
            }
            return d[a.Length, b.Length];
        }
    }
}
