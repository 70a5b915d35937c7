namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Guest detection and general guest I/O (0400–0409).
    public static readonly DiagnosticDescriptor GuestDistributionUnknown = Define("LIMG0400", DiagnosticSeverity.Error, "R9",
        "Distribution not recognised", "The guest's distribution cannot be identified: {0}. The SDK reads /etc/os-release (or /usr/lib/os-release, or the legacy /etc/redhat-release, /etc/SuSE-release, /etc/debian_version); is the source disk's root file system the one that was found?");

    public static readonly DiagnosticDescriptor GuestOsReleaseMissing = Define("LIMG0401", DiagnosticSeverity.Info, "-",
        "No os-release file", "The guest has no /etc/os-release; the distribution was identified from {0} as {1}.");

    public static readonly DiagnosticDescriptor GuestFileUnreadable = Define("LIMG0402", DiagnosticSeverity.Error, "-",
        "Guest file unreadable", "'{0}' in the guest cannot be read or parsed: {1}");

    public static readonly DiagnosticDescriptor GuestPatchAction = Define("LIMG0403", DiagnosticSeverity.Info, "-",
        "Guest patched", "{0}");

    public static readonly DiagnosticDescriptor GuestPatchAborted = Define("LIMG0404", DiagnosticSeverity.Error, "-",
        "Guest patch aborted", "The guest was not patched (no file was changed) because {0} failed: {1}");

    // Kernel command line and boot loader (0410–0429).
    public static readonly DiagnosticDescriptor GrubConfigWithoutEntries = Define("LIMG0410", DiagnosticSeverity.Error, "R12",
        "Boot loader configuration without kernel entries", "'{0}' has no 'linux', 'linux16' or 'linuxefi' line, no 'blscfg' and no 'configfile'; the SDK cannot tell which command line the boot loader uses. Regenerate it in the VM (grub-mkconfig / update-grub) before converting.");

    public static readonly DiagnosticDescriptor BootLoaderNotFound = Define("LIMG0411", DiagnosticSeverity.Error, "R12",
        "No boot loader configuration", "No boot loader configuration was found in the guest (looked for {0}); the kernel command line cannot be patched or checked.");

    public static readonly DiagnosticDescriptor GrubEnvMalformed = Define("LIMG0412", DiagnosticSeverity.Error, "R12",
        "grubenv cannot be edited", "'{0}' cannot be edited: {1}");

    public static readonly DiagnosticDescriptor KernelParameterMissing = Define("LIMG0413", DiagnosticSeverity.Error, "R12",
        "Kernel parameter missing", "The boot entry {0} in '{1}' lacks the kernel parameter '{2}'.");

    public static readonly DiagnosticDescriptor KernelParameterForbidden = Define("LIMG0414", DiagnosticSeverity.Error, "R12",
        "Kernel parameter to remove is present", "The boot entry {0} in '{1}' has the kernel parameter '{2}', which must be removed ({3}).");

    // waagent.conf (0420–0429).
    public static readonly DiagnosticDescriptor WaagentConfDuplicateKey = Define("LIMG0420", DiagnosticSeverity.Error, "R11",
        "Duplicate key in waagent.conf", "'{0}' sets '{1}' more than once (lines {2}); the agent's value is ambiguous. Remove the duplicates.");

    public static readonly DiagnosticDescriptor WaagentConfMissing = Define("LIMG0421", DiagnosticSeverity.Error, "R11",
        "waagent.conf not found", "'{0}' does not exist; the Azure Linux Agent is not configured.");

    public static readonly DiagnosticDescriptor WaagentSettingWrong = Define("LIMG0422", DiagnosticSeverity.Error, "R11",
        "waagent.conf setting differs", "'{0}' sets {1}={2}; the project asks for {1}={3}.");

    // Swap and fstab (0430–0439).
    public static readonly DiagnosticDescriptor SwapOnOsDisk = Define("LIMG0430", DiagnosticSeverity.Error, "R14",
        "Swap on the OS disk", "'{0}' line {1} enables swap on the OS disk ({2}); the agent creates swap on the resource disk instead.");

    public static readonly DiagnosticDescriptor SwapPartitionPresent = Define("LIMG0431", DiagnosticSeverity.Warning, "R14",
        "Swap partition on the OS disk", "The OS disk has a swap partition or logical volume ({0}); it is no longer used but still takes space. Remove it before converting if you can.");

    public static readonly DiagnosticDescriptor FstabDeviceName = Define("LIMG0432", DiagnosticSeverity.Warning, "-",
        "fstab uses a /dev/sdX name", "'{0}' line {1} mounts '{2}' by its kernel name; on Azure VM sizes with NVMe disks there is no /dev/sdX. Use UUID= or LABEL=.");

    // Initramfs and Hyper-V drivers (0440–0449).
    public static readonly DiagnosticDescriptor InitramfsUnreadable = Define("LIMG0440", DiagnosticSeverity.Error, "R7",
        "Initramfs unreadable", "The initramfs '{0}' cannot be read: {1}");

    public static readonly DiagnosticDescriptor InitramfsLacksHyperVDrivers = Define("LIMG0441", DiagnosticSeverity.Error, "R7",
        "Hyper-V drivers missing from the initramfs", "The initramfs '{0}' for kernel {1} has neither built in nor as modules: {2}. The VM cannot find its disk on Azure.");

    public static readonly DiagnosticDescriptor HyperVModulesNotInstalled = Define("LIMG0442", DiagnosticSeverity.Error, "R7",
        "Hyper-V modules not installed", "Kernel {0} has no {1} module under /lib/modules/{0} and does not build it in; install the distribution's Hyper-V drivers (or LIS) for this kernel.");

    public static readonly DiagnosticDescriptor InitramfsMissing = Define("LIMG0443", DiagnosticSeverity.Error, "R7",
        "No initramfs for a kernel", "Kernel {0} has no initramfs in /boot (looked for {1}).");

    public static readonly DiagnosticDescriptor InitramfsCannotAppend = Define("LIMG0444", DiagnosticSeverity.Error, "R7",
        "Initramfs cannot be extended offline", "The Hyper-V drivers cannot be added to '{0}' offline: {1}. Regenerate the initramfs in the VM (the generator is already configured to include them).");

    // Kernel (0450–0459).
    public static readonly DiagnosticDescriptor KernelLacksUdf = Define("LIMG0450", DiagnosticSeverity.Error, "R5",
        "Kernel without UDF", "Kernel {0} cannot mount UDF (no udf module, not in modules.builtin, CONFIG_UDF_FS not set); the VM cannot read its provisioning media.");

    public static readonly DiagnosticDescriptor KernelNeedsNumaOff = Define("LIMG0451", DiagnosticSeverity.Error, "R6",
        "numa=off required", "Kernel {0} is older than {1} and does not support NUMA on Hyper-V; its boot entry {2} must have numa=off.");

    public static readonly DiagnosticDescriptor KernelNeedsLis = Define("LIMG0452", DiagnosticSeverity.Warning, "R8",
        "RHEL 6.0–6.3 kernel needs LIS", "Kernel {0} is a RHEL 6.0–6.3 kernel without the Hyper-V drivers; install Linux Integration Services (LIS) or update to RHEL 6.4 or later.");

    public static readonly DiagnosticDescriptor KernelTooOld = Define("LIMG0453", DiagnosticSeverity.Warning, "R8",
        "Kernel older than 3.8", "Kernel {0} is older than 3.8; a custom kernel must contain the upstream Hyper-V fixes (ata_piix, storvsc, scsi_sysfs) the article lists. Prefer a 3.8 or later kernel.");

    public static readonly DiagnosticDescriptor KernelNotFound = Define("LIMG0454", DiagnosticSeverity.Error, "R8",
        "No kernel installed", "No kernel was found in the guest (/boot/vmlinuz-*, /lib/modules/*); the image cannot boot.");

    // Agent and services (0460–0479).
    public static readonly DiagnosticDescriptor AgentNotInstalled = Define("LIMG0460", DiagnosticSeverity.Error, "R9",
        "Azure Linux Agent not installed", "The Azure Linux Agent (waagent) is not installed (looked for {0}); install the distribution's WALinuxAgent / walinuxagent package.");

    public static readonly DiagnosticDescriptor AgentPythonMissing = Define("LIMG0461", DiagnosticSeverity.Error, "R9",
        "No Python for the agent", "The agent's interpreter {0} is not installed; the agent needs Python 2.6 or later.");

    public static readonly DiagnosticDescriptor AgentPyasn1Missing = Define("LIMG0462", DiagnosticSeverity.Warning, "R9",
        "pyasn1 missing", "The agent runs on Python 2 ({0}) but the pyasn1 module is not installed.");

    public static readonly DiagnosticDescriptor NetworkManagerEnabled = Define("LIMG0465", DiagnosticSeverity.Warning, "R10",
        "NetworkManager enabled", "NetworkManager is installed and enabled ({0}); it may conflict with the Azure Linux Agent.");

    public static readonly DiagnosticDescriptor SshServerMissing = Define("LIMG0470", DiagnosticSeverity.Error, "R13",
        "No SSH server", "No SSH server is installed (looked for {0}).");

    public static readonly DiagnosticDescriptor SshServerNotEnabled = Define("LIMG0471", DiagnosticSeverity.Error, "R13",
        "SSH server not started at boot", "The SSH server is installed but not enabled at boot (no {0}).");

    public static readonly DiagnosticDescriptor NotDeprovisioned = Define("LIMG0480", DiagnosticSeverity.Error, "R16",
        "Image not deprovisioned", "The image still carries machine state that deprovisioning removes: {0}.");

    public static readonly DiagnosticDescriptor DeprovisionDisabled = Define("LIMG0481", DiagnosticSeverity.Warning, "R16",
        "Deprovision turned off", "Deprovision=false: the image keeps its machine identity ({0}); every VM created from it shares it.");

    public static readonly DiagnosticDescriptor DeprovisionUserNotFound = Define("LIMG0482", DiagnosticSeverity.Warning, "R16",
        "DeprovisionUser not found", "DeprovisionUser '{0}' is not a user of the guest (/etc/passwd); nothing was removed for it.");

    // Disk layout as seen by the guest (0490–0499).
    public static readonly DiagnosticDescriptor LvmOnOsDisk = Define("LIMG0490", DiagnosticSeverity.Warning, "R4",
        "LVM on the OS disk", "The OS disk uses LVM ({0}); standard partitions are recommended, because identical volume group names clash when the disk is attached to another VM for repair.");

    // Beyond the article: what makes today's Azure VMs fail (0500–0519).
    public static readonly DiagnosticDescriptor HyperVModuleBlacklisted = Define("LIMG0500", DiagnosticSeverity.Error, "R7",
        "Hyper-V module blacklisted", "'{0}' line {1} blacklists or disables {2}; the VM cannot use its Hyper-V devices.");

    public static readonly DiagnosticDescriptor ProvisioningConflict = Define("LIMG0501", DiagnosticSeverity.Error, "R9",
        "waagent and cloud-init both provision", "Both the Azure Linux Agent (Provisioning.Agent={0}) and cloud-init are set to provision the VM; they race. Set Provisioning.Agent=cloud-init (or auto), or disable cloud-init's Azure datasource.");

    public static readonly DiagnosticDescriptor ProvisioningMissing = Define("LIMG0502", DiagnosticSeverity.Error, "R9",
        "Nothing provisions the VM", "Nothing will provision the VM: {0}. The VM will never report ready.");

    public static readonly DiagnosticDescriptor NvmeDriverMissing = Define("LIMG0510", DiagnosticSeverity.Warning, "-",
        "nvme driver missing from the initramfs", "The initramfs '{0}' for kernel {1} has no nvme driver (built in or module); the image cannot boot on NVMe-based VM sizes.");

    public static readonly DiagnosticDescriptor ReportWriteFailed = Define("LIMG0520", DiagnosticSeverity.Error, "-",
        "Validation report cannot be written", "The validation report '{0}' cannot be written: {1}");
}
