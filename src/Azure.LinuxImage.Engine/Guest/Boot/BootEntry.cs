namespace Azure.LinuxImage.Engine.Guest.Boot;

public enum BootEntrySource
{
    /// <summary>Read by the next regeneration (/etc/default/grub, /etc/sysconfig/bootloader, /etc/kernel/cmdline).</summary>
    Defaults,
    GrubCfg,
    BlsEntry,
    GrubEnv,
    LegacyGrub,
}

/// <summary>One kernel command line the boot loader uses now or a regeneration will write.</summary>
public sealed record BootEntry(string File, int Line, string Description, BootEntrySource Source, IReadOnlyList<string> Parameters, KernelVersion? Kernel)
{
    public string CommandLine => string.Join(' ', Parameters);
}
