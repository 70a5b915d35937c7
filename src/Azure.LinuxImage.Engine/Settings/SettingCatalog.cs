namespace Azure.LinuxImage.Engine.Settings;

/// <summary>
/// Every setting of the SDK, defined once. From this list come: the SDK's MSBuild defaults and the
/// per-step inputs of the incremental build (`linuximage settings --msbuild-props/--msbuild-targets`,
/// run when the SDK is packed), the command line's options and defaults (GuestSettingsOptions and
/// the commands), the value checks (ImageSettings) and the README's table (`--markdown`, kept equal
/// by a test). Adding a setting is an entry here, the code that uses it (a guest rule or patch step
/// reads it from GuestPatchOptions.Settings) and the README's table (`linuximage settings`).
/// </summary>
public static class SettingCatalog
{
    private static readonly List<Setting> AllSettings = [];

    public static IReadOnlyList<Setting> All => AllSettings;

    public static Setting? Find(string name) => AllSettings.Find(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    private static Setting Define(Setting setting)
    {
        AllSettings.Add(setting);
        return setting;
    }

    // Convert.
    public static readonly Setting SourceDisk = Define(new("SourceDisk", SettingShape.Property, SettingType.Path, SettingStep.Convert,
        "the disk image, relative to the project")
    { MSBuildValue = "$(SourceDiskFullPath)", DefaultDescription = "(required)", Requirement = "R1" });

    public static readonly Setting SourceDiskFormat = Define(new("SourceDiskFormat", SettingShape.Property, SettingType.Choice, SettingStep.Convert,
        "`raw` forces a raw disk that has no partition table or file system signature; empty: recognised from the content")
    { Option = "--source-format", Choices = ["", "auto", "raw", "vhd", "vhdx", "qcow2", "vmdk", "vdi"], DefaultDescription = "auto" });

    public static readonly Setting ImageName = Define(new("ImageName", SettingShape.Property, SettingType.Text, SettingStep.Convert,
        "output file name without `.vhd`")
    { MSBuildValue = "$(ImageOutputPath)", DefaultDescription = "project name" });

    // Align.
    public static readonly Setting ImageSizeMiB = Define(new("ImageSizeMiB", SettingShape.Property, SettingType.Integer, SettingStep.Align,
        "grow the virtual disk to this many MiB (never below the source)")
    { Option = "--image-size-mib", Minimum = 1, Maximum = 64L * 1024 * 1024, DefaultDescription = "source size rounded up", Requirement = "R2" });

    // Patch (validation checks the guest against the same values).
    public static readonly Setting KernelParameter = Define(new("KernelParameter", SettingShape.Item, SettingType.Text, SettingStep.Patch,
        "a kernel parameter every boot entry must have")
    { Option = "--kernel-parameter", Default = ["console=ttyS0,115200n8", "earlyprintk=ttyS0,115200", "rootdelay=300"], Requirement = "R12" });

    public static readonly Setting RemoveKernelParameter = Define(new("RemoveKernelParameter", SettingShape.Item, SettingType.Text, SettingStep.Patch,
        "a kernel parameter removed by name, whatever its value")
    { Option = "--remove-kernel-parameter", Default = ["rhgb", "quiet", "crashkernel"], Requirement = "R12" });

    public static readonly Setting WaagentSetting = Define(new("WaagentSetting", SettingShape.KeyValueItem, SettingType.Text, SettingStep.Patch,
        "a /etc/waagent.conf setting (`Value` metadata); a later item with the same key wins. Unless the project sets them, `ResourceDisk.Format` and `ResourceDisk.EnableSwap` follow the provisioning agent (`y` for waagent, `n` for cloud-init) and `Provisioning.Agent` becomes `auto` (or `waagent`) when waagent.conf names an absent cloud-init (docs/guest.md)")
    {
        Option = "--waagent-setting",
        Default = ["ResourceDisk.Filesystem=ext4", "ResourceDisk.MountPoint=/mnt/resource", "ResourceDisk.SwapSizeMB=2048"],
        Requirement = "R11",
    });

    public static readonly Setting Deprovision = Define(new("Deprovision", SettingShape.Property, SettingType.Boolean, SettingStep.Patch,
        "deprovision offline, as `waagent -force -deprovision` would")
    { Option = "--deprovision", Default = ["true"], Requirement = "R16" });

    public static readonly Setting DeprovisionUser = Define(new("DeprovisionUser", SettingShape.Property, SettingType.Text, SettingStep.Patch,
        "also remove this user, as `-deprovision+user`")
    { Option = "--deprovision-user", DefaultDescription = "(none)", Requirement = "R16" });

    public static readonly Setting ImageKind = Define(new("ImageKind", SettingShape.Property, SettingType.Choice, SettingStep.Patch,
        "`DataDisk`: convert, align and check the disk only (no guest)")
    { Option = "--image-kind", Choices = ["OsDisk", "DataDisk"], Default = ["OsDisk"], Requirement = "R15" });

    public static readonly Setting AzureDiskController = Define(new("AzureDiskController", SettingShape.Property, SettingType.Choice, SettingStep.Patch,
        "`NVMe` makes NVMe readiness problems errors; empty: any controller")
    { Option = "--azure-disk-controller", Choices = ["", "SCSI", "NVMe"], DefaultDescription = "(any)" });

    // Validate.
    public static readonly Setting HyperVGeneration = Define(new("HyperVGeneration", SettingShape.Property, SettingType.Choice, SettingStep.Validate,
        "`V1` (BIOS) or `V2` (UEFI: GPT, an EFI system partition, `EFI/BOOT/BOOTX64.EFI`); empty: detected from the disk and reported (LIMG0530)")
    { Option = "--hyperv-generation", Choices = ["", "V1", "V2"], DefaultDescription = "(detect)" });

    public static readonly Setting AzureSecurityType = Define(new("AzureSecurityType", SettingShape.Property, SettingType.Choice, SettingStep.Validate,
        "`TrustedLaunch`: the boot loader must be signed for Secure Boot through Microsoft's UEFI CA")
    { Option = "--azure-security-type", Choices = ["", "Standard", "TrustedLaunch"], DefaultDescription = "Standard" });

    // MSBuild's own warning controls: the tool takes them as options on every step; they
    // are listed so that a change reruns validation, whose report records the severities.
    public static readonly Setting NoWarn = Define(new("NoWarn", SettingShape.Property, SettingType.Text, SettingStep.Validate,
        "MSBuild's: warning codes to suppress; the JSON and SARIF reports follow it"));

    public static readonly Setting WarningsAsErrors = Define(new("WarningsAsErrors", SettingShape.Property, SettingType.Text, SettingStep.Validate,
        "MSBuild's: warning codes reported as errors"));

    public static readonly Setting WarningsNotAsErrors = Define(new("WarningsNotAsErrors", SettingShape.Property, SettingType.Text, SettingStep.Validate,
        "MSBuild's: warning codes kept as warnings under `TreatWarningsAsErrors`"));

    public static readonly Setting TreatWarningsAsErrors = Define(new("TreatWarningsAsErrors", SettingShape.Property, SettingType.Text, SettingStep.Validate,
        "MSBuild's: every warning is an error"));

    public static readonly Setting HelpBaseUri = Define(new("LinuxImageHelpBaseUri", SettingShape.Property, SettingType.Uri, SettingStep.Validate,
        "where the documentation lives: diagnostics' help links (build log, SARIF, JSON) are `diagnostics/LIMGxxxx.md` under it")
    { Option = "--help-base-uri", Default = ["https://github.com/Azure/Azure.LinuxImage.Sdk/blob/main/docs/"] });

    // Publish (always runs: not an input of the incremental build).
    public static readonly Setting AzureBlobUri = Define(new("AzureBlobUri", SettingShape.Property, SettingType.Text, SettingStep.Publish,
        "the destination page blob (`container/blob` with a connection string); may hold a SAS, so it travels like a secret")
    { Option = "--blob-uri", EnvironmentVariable = "LIMG_AZURE_BLOB_URI", Secret = true, DefaultDescription = "(none)", Requirement = "R17" });

    public static readonly Setting AzureBlobSas = Define(new("AzureBlobSas", SettingShape.Property, SettingType.Text, SettingStep.Publish,
        "a SAS token for the blob")
    { EnvironmentVariable = "LIMG_AZURE_BLOB_SAS", Secret = true, DefaultDescription = "(none)" });

    public static readonly Setting AzureStorageConnectionString = Define(new("AzureStorageConnectionString", SettingShape.Property, SettingType.Text, SettingStep.Publish,
        "a storage connection string (how Azurite is addressed)")
    { EnvironmentVariable = "LIMG_AZURE_STORAGE_CONNECTION_STRING", Secret = true, DefaultDescription = "(none)" });

    public static readonly Setting AzureBlobOverwrite = Define(new("AzureBlobOverwrite", SettingShape.Property, SettingType.Boolean, SettingStep.Publish,
        "replace a blob that holds other content")
    { Option = "--overwrite", Default = ["false"] });

    public static readonly Setting AzureUploadParallelism = Define(new("AzureUploadParallelism", SettingShape.Property, SettingType.Integer, SettingStep.Publish,
        "page writes in flight at once")
    { Option = "--parallelism", Default = ["8"], Minimum = 1, Maximum = 64 });

    public static readonly Setting AzureUploadVerify = Define(new("AzureUploadVerify", SettingShape.Property, SettingType.Choice, SettingStep.Publish,
        "after the upload compare page ranges and read back a sample of them (`Sample`), all (`Full`) or none (`PageRanges`)")
    { Option = "--verify", Choices = ["Sample", "Full", "PageRanges"], Default = ["Sample"] });
}
