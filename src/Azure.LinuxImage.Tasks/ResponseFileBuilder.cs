using System.Collections.Generic;
using System.Text;

namespace Azure.LinuxImage.Tasks
{
    /// <summary>One argument per line, quoted when it holds spaces, the way System.CommandLine reads response files.</summary>
    public sealed class ResponseFileBuilder
    {
        private static readonly char[] Whitespace = { ' ', '\t' };

        private readonly StringBuilder text = new StringBuilder();

        public void Add(string value)
        {
            bool quote = value.Length == 0 || value.IndexOfAny(Whitespace) >= 0;
            text.Append(quote ? "\"" + value.Replace("\"", "\\\"") + "\"" : value).Append('\n');
        }

        public void AddOption(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                Add(name);
                Add(value!);
            }
        }

        public void AddOptions(string name, IEnumerable<string> values)
        {
            foreach (string value in values)
            {
                AddOption(name, value);
            }
        }

        public override string ToString() => text.ToString();
    }
}
