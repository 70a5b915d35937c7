namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Azure as it is today (0550–0569): provisioning that works by default, cloud-init's resource
    // disk, what current VM sizes need (accelerated networking, the Hyper-V clock, stable disk names).
    public static readonly DiagnosticDescriptor ProvisioningAgentChosen = Define("LIMG0550", DiagnosticSeverity.Info, "R9",
        "Provisioning agent chosen", "waagent.conf had {0}, but {1}; the SDK set {2} so that {3} provisions the VM. A WaagentSetting for {4} in the project overrides this choice.");

    public static readonly DiagnosticDescriptor ResourceDiskFollowsProvisioning = Define("LIMG0551", DiagnosticSeverity.Info, "R11",
        "Resource disk follows the provisioning agent", "{0} provisions the VM, so the SDK asks waagent.conf for {1}; a WaagentSetting for these keys in the project overrides this choice.");

    public static readonly DiagnosticDescriptor ResourceDiskFormattedTwice = Define("LIMG0552", DiagnosticSeverity.Warning, "R11",
        "cloud-init and waagent both format the resource disk", "cloud-init provisions the VM and formats and mounts the resource disk (its Azure datasource's ephemeral0), but '{0}' also has ResourceDisk.Format=y{1}; both set up the same disk at boot. Set ResourceDisk.Format=n and ResourceDisk.EnableSwap=n and configure swap through cloud-init.");

    public static readonly DiagnosticDescriptor AcceleratedNetworkingDriverMissing = Define("LIMG0555", DiagnosticSeverity.Warning, "-",
        "Accelerated networking driver missing", "Kernel {0} has no {1} driver (no module in modules.dep, not in modules.builtin): {2} have no accelerated network with this image (the VM falls back to the slower synthetic hv_netvsc path).");

    public static readonly DiagnosticDescriptor TimeSyncNotHyperVClock = Define("LIMG0556", DiagnosticSeverity.Warning, "-",
        "Time not synchronised from the Hyper-V clock", "{0}; Azure's Linux images point chrony at the host's clock with 'refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0' (time-sync guidance), which stays accurate through host maintenance.");

    public static readonly DiagnosticDescriptor AzureDiskUdevRulesMissing = Define("LIMG0557", DiagnosticSeverity.Warning, "-",
        "No udev rules for /dev/disk/azure", "No udev rule in the guest creates /dev/disk/azure/...{0} (looked in {1}); scripts and fstab entries that name Azure disks by their stable names will not find them. Install the distribution's WALinuxAgent udev rules (66-azure-storage.rules) or azure-vm-utils.");
}
