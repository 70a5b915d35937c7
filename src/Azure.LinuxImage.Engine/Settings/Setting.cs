namespace Azure.LinuxImage.Engine.Settings;

/// <summary>
/// The step of the pipeline whose rerun a changed setting triggers (and every step after it).
/// Publish always runs, so its settings are never part of the incremental build's inputs.
/// </summary>
public enum SettingStep
{
    Convert,
    Align,
    Patch,
    Validate,
    Publish,
}

/// <summary>How a project states the setting.</summary>
public enum SettingShape
{
    /// <summary>&lt;Name&gt;value&lt;/Name&gt;; empty means the default.</summary>
    Property,

    /// <summary>&lt;Name Include="value" /&gt;, any number of them.</summary>
    Item,

    /// <summary>&lt;Name Include="key" Value="value" /&gt;; a later item with the same key wins.</summary>
    KeyValueItem,
}

public enum SettingType
{
    Text,
    Path,
    Boolean,
    Integer,
    Choice,
    Uri,
}

/// <summary>
/// One setting of the SDK, the only place its name, shape, type, default, step and documentation are
/// written: the SDK's MSBuild defaults, the per-step inputs of the incremental build, the command
/// line's options and the documentation's table are all produced from it (see SettingCatalog).
/// </summary>
public sealed record Setting(string Name, SettingShape Shape, SettingType Type, SettingStep Step, string Documentation)
{
    /// <summary>The linuximage option (e.g. --kernel-parameter), or null when the command line takes it otherwise (an argument, the environment).</summary>
    public string? Option { get; init; }

    /// <summary>Choice: the accepted values, matched without regard to case. An empty string stands for "not set".</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>
    /// The default: for a property one value (or none); for items their identities; for key/value
    /// items "key=value". Applied by the SDK's props and by the command line alike.
    /// </summary>
    public IReadOnlyList<string> Default { get; init; } = [];

    /// <summary>How the documentation describes the default when it is not a plain value (e.g. "project name").</summary>
    public string? DefaultDescription { get; init; }

    public long Minimum { get; init; } = long.MinValue;

    public long Maximum { get; init; } = long.MaxValue;

    /// <summary>The MSBuild expression whose value the step's inputs record, when it is not $(Name) (e.g. a path made absolute).</summary>
    public string? MSBuildValue { get; init; }

    /// <summary>A secret: never written to a file; it reaches the tool through this environment variable only.</summary>
    public string? EnvironmentVariable { get; init; }

    public bool Secret { get; init; }

    /// <summary>The requirement it serves (R1–R17), or null.</summary>
    public string? Requirement { get; init; }

    public bool IsItem => Shape != SettingShape.Property;

    /// <summary>The value a property has when the project leaves it empty.</summary>
    public string? DefaultValue => Shape == SettingShape.Property && Default.Count > 0 ? Default[0] : null;
}
