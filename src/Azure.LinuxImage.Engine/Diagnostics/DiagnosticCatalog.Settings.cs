namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Settings of the project (0030–0049): reported at the property or item in the project file.
    public static readonly DiagnosticDescriptor SettingValueInvalid = Define("LIMG0030", DiagnosticSeverity.Error, "-",
        "Invalid setting value", "The {0} value '{1}' is not valid: {2}.");

    public static readonly DiagnosticDescriptor SettingItemMetadataMissing = Define("LIMG0031", DiagnosticSeverity.Error, "-",
        "Setting item without its metadata", "The {0} item '{1}' has no {2}: write <{0} Include=\"{1}\" {2}=\"...\" />.");

    public static readonly DiagnosticDescriptor SettingItemKeyInvalid = Define("LIMG0032", DiagnosticSeverity.Error, "-",
        "Key and value in an item's Include", "The {0} item '{1}' puts a value in its key: write <{0} Include=\"{2}\" Value=\"{3}\" />.");

    public static readonly DiagnosticDescriptor SettingNameNearMiss = Define("LIMG0033", DiagnosticSeverity.Warning, "-",
        "Misspelt setting", "The {0} '{1}' is not a setting of Azure.LinuxImage.Sdk and has no effect. Did you mean '{2}'?");

    public static readonly DiagnosticDescriptor SettingsFileInvalid = Define("LIMG0034", DiagnosticSeverity.Error, "-",
        "Settings file unusable", "The settings file '{0}' cannot be used: {1}. Rebuild the project (dotnet build -t:Rebuild).");
}
