namespace Azure.LinuxImage.Engine.Diagnostics;

public static partial class DiagnosticCatalog
{
    // Firmware: Hyper-V generation, UEFI, Trusted Launch, Arm64 (0530–0549).
    public static readonly DiagnosticDescriptor HyperVGenerationDetected = Define("LIMG0530", DiagnosticSeverity.Info, "-",
        "Hyper-V generation", "The image boots as {0}: {1}. Set HyperVGeneration to the generation the Azure image definition will use.");

    public static readonly DiagnosticDescriptor Gen1WithoutBiosBoot = Define("LIMG0531", DiagnosticSeverity.Error, "-",
        "Generation 1 without BIOS boot code", "HyperVGeneration is V1, but the disk cannot boot from BIOS: {0}. Install the BIOS boot loader (grub-pc / grub2-pc: grub-install on the disk) or build the image as V2.");

    public static readonly DiagnosticDescriptor Gen2NeedsGpt = Define("LIMG0532", DiagnosticSeverity.Error, "-",
        "Generation 2 needs a GPT disk", "HyperVGeneration is V2, but the disk has {0}; Azure's UEFI firmware boots only from a GPT disk with an EFI system partition.");

    public static readonly DiagnosticDescriptor Gen2NoEsp = Define("LIMG0533", DiagnosticSeverity.Error, "-",
        "Generation 2 needs an EFI system partition", "HyperVGeneration is V2, but the GPT has no EFI system partition (type C12A7328-F81F-11D2-BA4B-00A0C93EC93B) with a FAT file system{0}.");

    public static readonly DiagnosticDescriptor Gen2NoFallbackLoader = Define("LIMG0534", DiagnosticSeverity.Error, "-",
        "No boot loader at the removable-media path", "The EFI system partition ({0}) has no {1}. A new Azure VM starts with empty firmware boot entries, so a loader registered only in the NVRAM of the machine that installed the image is never found. Install the fallback loader (Debian/Ubuntu: grub-install --removable or --force-extra-removable; RHEL/Fedora: shim's BOOTX64.EFI with fallback).{2}");

    public static readonly DiagnosticDescriptor TrustedLaunchUnsigned = Define("LIMG0535", DiagnosticSeverity.Error, "-",
        "Boot loader not signed for Secure Boot", "AzureSecurityType is TrustedLaunch, but the boot loader '{0}' on the EFI system partition has no Authenticode signature{1}. Secure Boot refuses it: install the distribution's signed shim (shim-signed) as the removable-media loader.");

    public static readonly DiagnosticDescriptor TrustedLaunchNotMicrosoft = Define("LIMG0536", DiagnosticSeverity.Error, "-",
        "Boot loader not signed through Microsoft's UEFI CA", "AzureSecurityType is TrustedLaunch, but the boot loader '{0}' is signed by {1}, not through Microsoft's UEFI CA ({2}); Azure's Secure Boot database trusts only that CA for Linux loaders. Install the distribution's shim signed by Microsoft.");

    public static readonly DiagnosticDescriptor Arm64NeedsGen2 = Define("LIMG0537", DiagnosticSeverity.Error, "-",
        "Arm64 images are Generation 2 only", "The kernel {0} is built for Arm64; Azure's Arm64 VMs are Generation 2 (UEFI) only, but {1}.");

    public static readonly DiagnosticDescriptor Arm64Console = Define("LIMG0538", DiagnosticSeverity.Error, "R12",
        "Arm64 serial console", "The kernel {0} is built for Arm64, but the boot entry {1} in '{2}' {3}. Azure's Arm64 VMs have a PL011 UART: use console=ttyAMA0 and earlycon=pl011,0xeffec000 instead of console=ttyS0 / earlyprintk=ttyS0.");

    public static readonly DiagnosticDescriptor NoBootPath = Define("LIMG0539", DiagnosticSeverity.Error, "-",
        "No way to boot", "The disk can boot neither as Generation 1 (no BIOS boot code in the MBR) nor as Generation 2 ({0}).");
}
