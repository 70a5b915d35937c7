namespace Azure.LinuxImage.Engine.Patching;

/// <summary>What the project asks the patch step to do (the article's defaults come from Sdk.props).</summary>
public sealed record ImagePatchOptions
{
    public IReadOnlyList<string> KernelParameters { get; init; } = [];

    public IReadOnlyList<string> RemoveKernelParameters { get; init; } = [];

    public IReadOnlyDictionary<string, string> WaagentSettings { get; init; } = new Dictionary<string, string>();

    public bool Deprovision { get; init; } = true;

    public string? DeprovisionUser { get; init; }
}
