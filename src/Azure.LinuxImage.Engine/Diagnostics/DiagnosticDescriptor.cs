namespace Azure.LinuxImage.Engine.Diagnostics;

public enum DiagnosticSeverity
{
    Info,
    Warning,
    Error,
}

/// <summary>
/// One stable diagnostic: its code never changes meaning once shipped, because users put it in
/// NoWarn / WarningsAsErrors and CI systems key on it.
/// </summary>
public sealed record DiagnosticDescriptor(
    string Code,
    DiagnosticSeverity DefaultSeverity,
    string Requirement,
    string Title,
    string MessageTemplate)
{
    /// <summary>The page under the default documentation address (the LinuxImageHelpBaseUri setting's default).</summary>
    public string HelpLink => HelpUri(null);

    /// <summary>The diagnostic's page under <paramref name="docsBaseUri"/> (absolute, ending in '/'), or the default address when null.</summary>
    public string HelpUri(string? docsBaseUri) =>
        $"{docsBaseUri ?? Settings.SettingCatalog.HelpBaseUri.DefaultValue}diagnostics/{Code}.md";

    public string Format(params object?[] args) =>
        args.Length == 0 ? MessageTemplate : string.Format(System.Globalization.CultureInfo.InvariantCulture, MessageTemplate, args);
}
