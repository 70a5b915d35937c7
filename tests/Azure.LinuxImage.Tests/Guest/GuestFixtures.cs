namespace Azure.LinuxImage.Tests.Guest;

/// <summary>
/// Guest trees laid out as each family installs them, with file text taken from the distributions'
/// shipped defaults (Debian 12 grub/grub-pc and waagent packages, RHEL 8/9 anaconda + grubby output
/// with BLS, CentOS 6 anaconda's grub.conf, SLES 15 YaST). Identifiers (UUIDs, machine-ids) are
/// made up; structure and defaults are the distributions'.
/// </summary>
public static class GuestFixtures
{
    public const string DebianKernel = "6.1.0-13-amd64";
    public const string Rhel9Kernel = "5.14.0-362.8.1.el9_3.x86_64";
    public const string Rhel8Kernel = "4.18.0-513.5.1.el8_9.x86_64";
    public const string El6Kernel = "2.6.32-431.el6.x86_64";
    public const string SuseKernel = "5.14.21-150500.55.31-default";

    public const string WaagentConfDebian = """
        #
        # Microsoft Azure Linux Agent Configuration
        #

        # Enable extension handling. Do not disable this unless you do not need password reset,
        # backup, monitoring, or any extension handling whatsoever.
        Extensions.Enabled=y

        # Which provisioning agent to use. Supported values are "auto" (default), "waagent",
        # "cloud-init", or "disabled".
        Provisioning.Agent=auto

        # Password authentication for root account will be unavailable.
        Provisioning.DeleteRootPassword=y

        # Generate fresh host key pair.
        Provisioning.RegenerateSshHostKeyPair=y

        # Format if unformatted. If 'n', resource disk will not be mounted.
        ResourceDisk.Format=n

        # File system on the resource disk
        # Typically ext3 or ext4. FreeBSD images should use 'ufs2' here.
        ResourceDisk.Filesystem=ext4

        # Mount point for the resource disk
        ResourceDisk.MountPoint=/mnt/resource

        # Create and use swapfile on resource disk.
        ResourceDisk.EnableSwap=n

        # Size of the swapfile.
        ResourceDisk.SwapSizeMB=0

        # Enable verbose logging (y|n)
        Logs.Verbose=n

        """;

    private static void AddCommon(InMemoryGuestFileSystem fs, string kernel, string moduleRoot)
    {
        fs.Add("/etc/waagent.conf", WaagentConfDebian)
          .Add("/usr/sbin/waagent", "#!/usr/bin/python3\n# WALinuxAgent\n", 0x1ED)
          .Add("/usr/bin/python3", "ELF", 0x1ED)
          .Add("/usr/sbin/sshd", "ELF", 0x1ED)
          .Add("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n")
          .Add("/etc/ssh/ssh_host_rsa_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0x180)
          .Add("/etc/ssh/ssh_host_rsa_key.pub", "ssh-rsa AAAA root@build\n")
          .Add("/etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0x180)
          .Add("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@build\n")
          .Add("/etc/machine-id", "0f3a4bd6c2e24f0e9a4c3b2d1e0f9a8b\n", 0x124)
          .Add("/etc/hostname", "build-vm\n")
          .Add("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbuilder:x:1000:1000:Builder,,,:/home/builder:/bin/bash\n")
          .Add("/etc/shadow", "root:$6$salt$hashhashhash:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\nbuilder:$6$salt2$hash2:19700:0:99999:7:::\n", 0x1A0)
          .Add("/etc/group", "root:x:0:\nsudo:x:27:builder\nbuilder:x:1000:\n")
          .Add("/etc/gshadow", "root:*::\nsudo:*::builder\nbuilder:!::\n", 0x1A0)
          .Add("/etc/sudoers.d/90-builder", "builder ALL=(ALL) NOPASSWD:ALL\n", 0x120)
          .Add("/home/builder/.bash_history", "sudo apt-get install waagent\n")
          .Add("/root/.bash_history", "waagent -deprovision\n", 0x180)
          .Add("/var/lib/waagent/ovf-env.xml", "<Environment/>")
          .Add("/var/lib/waagent/Incarnation", "1")
          .Add("/var/log/waagent.log", "2026/01/01 INFO Agent started\n")
          .Add("/var/lib/cloud/instance/boot-finished", "done\n")
          .Add("/var/lib/systemd/random-seed", "seed")
          .Link("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf")
          .Add("/boot/vmlinuz-" + kernel, "kernel")
          .Add("/boot/config-" + kernel, "CONFIG_UDF_FS=m\nCONFIG_HYPERV=m\nCONFIG_HYPERV_STORAGE=m\n")
          .Add(moduleRoot + "/kernel/fs/udf/udf.ko", "udf")
          .Add(moduleRoot + "/kernel/drivers/hv/hv_vmbus.ko", "hv_vmbus")
          .Add(moduleRoot + "/kernel/drivers/scsi/hv_storvsc.ko", "hv_storvsc")
          .Add(moduleRoot + "/kernel/drivers/scsi/scsi_transport_fc.ko", "fc")
          .Add(moduleRoot + "/kernel/drivers/net/hyperv/hv_netvsc.ko", "hv_netvsc")
          .Add(moduleRoot + "/kernel/drivers/hv/hv_utils.ko", "hv_utils")
          .Add(moduleRoot + "/kernel/drivers/nvme/host/nvme.ko", "nvme")
          .Add(moduleRoot + "/kernel/drivers/nvme/host/nvme-core.ko", "nvme-core")
          .Add(moduleRoot + "/modules.dep",
            "kernel/fs/udf/udf.ko:\nkernel/drivers/hv/hv_vmbus.ko:\nkernel/drivers/scsi/scsi_transport_fc.ko:\n"
            + "kernel/drivers/scsi/hv_storvsc.ko: kernel/drivers/scsi/scsi_transport_fc.ko kernel/drivers/hv/hv_vmbus.ko\n"
            + "kernel/drivers/net/hyperv/hv_netvsc.ko: kernel/drivers/hv/hv_vmbus.ko\nkernel/drivers/hv/hv_utils.ko: kernel/drivers/hv/hv_vmbus.ko\n"
            + "kernel/drivers/nvme/host/nvme-core.ko:\nkernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\n")
          .Add(moduleRoot + "/modules.alias",
            "# Aliases extracted from modules themselves.\nalias acpi*:VMBUS:* hv_vmbus\nalias acpi*:VMBus:* hv_vmbus\n"
            + "alias vmbus:d96361baa104294db60572e2ffb1dc7f hv_storvsc\nalias vmbus:32264132cb86a2449b5c50d1417354f5 hv_storvsc\n"
            + "alias vmbus:635161f83edfc546913ff2d2f965ed0e hv_netvsc\nalias pci:v*d*sv*sd*bc01sc08i02* nvme\n")
          .Add(moduleRoot + "/modules.builtin", "kernel/drivers/ata/libata.ko\nkernel/fs/ext4/ext4.ko\n");
    }

    /// <summary>Debian 12 cloud-style install: merged /usr, GRUB 2 for BIOS, initramfs-tools, swap partition.</summary>
    public static InMemoryGuestFileSystem Debian12()
    {
        var fs = new InMemoryGuestFileSystem();
        fs.Link("/lib", "usr/lib").Dir("/usr/lib");
        AddCommon(fs, DebianKernel, "/lib/modules/" + DebianKernel);
        fs.Add("/etc/os-release", """
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME="Debian GNU/Linux"
            VERSION_ID="12"
            VERSION="12 (bookworm)"
            VERSION_CODENAME=bookworm
            ID=debian
            HOME_URL="https://www.debian.org/"

            """)
          .Add("/etc/debian_version", "12.2\n")
          .Add("/usr/sbin/update-initramfs", "#!/bin/sh\n", 0x1ED)
          .Add("/usr/sbin/mkinitramfs", "#!/bin/sh\n", 0x1ED)
          .Add("/etc/initramfs-tools/initramfs.conf", "MODULES=most\nBUSYBOX=auto\nCOMPRESS=zstd\n")
          .Add("/etc/initramfs-tools/modules", """
            # List of modules that you want to include in your initramfs.
            # They will be loaded at boot time in the order below.
            #
            # Syntax:  module_name [args ...]
            #
            # You must run update-initramfs(8) to effect this change.
            #
            # Examples:
            #
            # raid1
            # sd_mod

            """)
          .Add("/etc/default/grub", """
            # If you change this file, run 'update-grub' afterwards to update
            # /boot/grub/grub.cfg.
            # For full documentation of the options in this file, see:
            #   info -f grub -n 'Simple configuration'

            GRUB_DEFAULT=0
            GRUB_TIMEOUT=5
            GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
            GRUB_CMDLINE_LINUX_DEFAULT="quiet"
            GRUB_CMDLINE_LINUX=""

            # Uncomment to enable BadRAM filtering, modify to suit your needs
            #GRUB_BADRAM="0x01234567,0xfefefefe,0x89abcdef,0xefefefef"

            """)
          .Add("/boot/grub/grub.cfg", $$"""
            #
            # DO NOT EDIT THIS FILE
            #
            # It is automatically generated by grub-mkconfig using templates
            # from /etc/grub.d and settings from /etc/default/grub
            #

            ### BEGIN /etc/grub.d/00_header ###
            if [ -s $prefix/grubenv ]; then
              set have_grubenv=true
              load_env
            fi
            set default="0"
            ### END /etc/grub.d/00_header ###

            ### BEGIN /etc/grub.d/10_linux ###
            menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a' {
            	load_video
            	insmod gzio
            	if [ x$grub_platform = xxen ]; then insmod xzio; insmod lzopio; fi
            	insmod part_msdos
            	insmod ext2
            	search --no-floppy --fs-uuid --set=root 2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a
            	echo	'Loading Linux {{DebianKernel}} ...'
            	linux	/boot/vmlinuz-{{DebianKernel}} root=UUID=2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a ro  quiet
            	echo	'Loading initial ramdisk ...'
            	initrd	/boot/initrd.img-{{DebianKernel}}
            }
            submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a' {
            	menuentry 'Debian GNU/Linux, with Linux {{DebianKernel}} (recovery mode)' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-{{DebianKernel}}-recovery-2f6c4a8e' {
            		load_video
            		insmod gzio
            		search --no-floppy --fs-uuid --set=root 2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a
            		echo	'Loading Linux {{DebianKernel}} ...'
            		linux	/boot/vmlinuz-{{DebianKernel}} root=UUID=2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a ro single 
            		echo	'Loading initial ramdisk ...'
            		initrd	/boot/initrd.img-{{DebianKernel}}
            	}
            }
            ### END /etc/grub.d/10_linux ###

            """)
          .Add("/etc/fstab", """
            # /etc/fstab: static file system information.
            #
            # <file system> <mount point>   <type>  <options>       <dump>  <pass>
            # / was on /dev/sda1 during installation
            UUID=2f6c4a8e-1d2b-4c3e-9f8a-7b6c5d4e3f2a /               ext4    errors=remount-ro 0       1
            # swap was on /dev/sda5 during installation
            UUID=9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d none            swap    sw              0       0
            /dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0

            """)
          .Link("/etc/systemd/system/multi-user.target.wants/ssh.service", "/lib/systemd/system/ssh.service")
          .Add("/lib/systemd/system/ssh.service", "[Unit]\nDescription=OpenBSD Secure Shell server\n")
          .Link("/etc/systemd/system/multi-user.target.wants/walinuxagent.service", "/lib/systemd/system/walinuxagent.service")
          .Add("/lib/systemd/system/walinuxagent.service", "[Service]\nExecStart=/usr/sbin/waagent -daemon\n")
          .Add("/var/lib/dhcp/dhclient.eth0.leases", "lease { interface \"eth0\"; }\n")
          .Add("/var/lib/systemd/network/.keep", string.Empty);
        return fs;
    }

    /// <summary>RHEL 9: /boot separate, BLS entries carrying the options, grubenv without kernelopts, dracut, NetworkManager.</summary>
    public static InMemoryGuestFileSystem Rhel9()
    {
        var fs = new InMemoryGuestFileSystem();
        fs.Link("/lib", "usr/lib").Dir("/usr/lib");
        AddCommon(fs, Rhel9Kernel, "/lib/modules/" + Rhel9Kernel);
        fs.Add("/etc/os-release", """
            NAME="Red Hat Enterprise Linux"
            VERSION="9.3 (Plow)"
            ID="rhel"
            ID_LIKE="fedora"
            VERSION_ID="9.3"
            PLATFORM_ID="platform:el9"
            PRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"

            """)
          .Add("/etc/redhat-release", "Red Hat Enterprise Linux release 9.3 (Plow)\n")
          .Add("/usr/bin/dracut", "#!/bin/bash\n", 0x1ED)
          .Add("/etc/dracut.conf", "# PUT YOUR CONFIG IN separate files\n# in /etc/dracut.conf.d named \"<name>.conf\"\n")
          .Dir("/etc/dracut.conf.d")
          .Add("/etc/default/grub", """
            GRUB_TIMEOUT=5
            GRUB_DISTRIBUTOR="$(sed 's, release .*$,,g' /etc/system-release)"
            GRUB_DEFAULT=saved
            GRUB_DISABLE_SUBMENU=true
            GRUB_TERMINAL_OUTPUT="console"
            GRUB_CMDLINE_LINUX="crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet"
            GRUB_DISABLE_RECOVERY="true"
            GRUB_ENABLE_BLSCFG=true

            """)
          .Add("/etc/kernel/cmdline", "root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet\n")
          .Add("/boot/grub2/grub.cfg", """
            #
            # DO NOT EDIT THIS FILE
            #
            # It is automatically generated by grub2-mkconfig using templates
            # from /etc/grub.d and settings from /etc/default/grub
            #

            ### BEGIN /etc/grub.d/00_header ###
            set pager=1

            if [ -f ${config_directory}/grubenv ]; then
              load_env -f ${config_directory}/grubenv
            elif [ -s $prefix/grubenv ]; then
              load_env
            fi
            ### END /etc/grub.d/00_header ###

            ### BEGIN /etc/grub.d/10_linux ###
            insmod part_gpt
            insmod xfs
            set root='hd0,gpt2'
            insmod blscfg
            blscfg
            ### END /etc/grub.d/10_linux ###

            """)
          .Link("/etc/grub2.cfg", "../boot/grub2/grub.cfg")
          .AddBytes("/boot/grub2/grubenv", GrubEnv(
            "saved_entry=4f1c1e2b7a9d4c3e8f6a5b4c3d2e1f0a-" + Rhel9Kernel,
            "menu_auto_hide=1", "boot_success=0", "boot_indeterminate=0"))
          .Add($"/boot/loader/entries/4f1c1e2b7a9d4c3e8f6a5b4c3d2e1f0a-{Rhel9Kernel}.conf", $"""
            title Red Hat Enterprise Linux (5.14.0-362.8.1.el9_3.x86_64) 9.3 (Plow)
            version {Rhel9Kernel}
            linux /vmlinuz-{Rhel9Kernel}
            initrd /initramfs-{Rhel9Kernel}.img $tuned_initrd
            options root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet $tuned_params
            grub_users $grub_users
            grub_arg --unrestricted
            grub_class rhel

            """)
          .Add("/etc/fstab", """

            #
            # /etc/fstab
            # Created by anaconda on Tue Nov 14 10:12:03 2023
            #
            # Accessible filesystems, by reference, are maintained under '/dev/disk/'.
            # See man pages fstab(5), findfs(8), mount(8) and/or blkid(8) for more info.
            #
            /dev/mapper/rhel-root   /                       xfs     defaults        0 0
            UUID=6b1e8f0a-3c2d-4e5f-8a9b-0c1d2e3f4a5b /boot                   xfs     defaults        0 0
            /dev/mapper/rhel-swap   none                    swap    defaults        0 0

            """)
          .Link("/etc/systemd/system/multi-user.target.wants/sshd.service", "/usr/lib/systemd/system/sshd.service")
          .Add("/usr/lib/systemd/system/sshd.service", "[Unit]\nDescription=OpenSSH server daemon\n")
          .Link("/etc/systemd/system/multi-user.target.wants/NetworkManager.service", "/usr/lib/systemd/system/NetworkManager.service")
          .Add("/usr/lib/systemd/system/NetworkManager.service", "[Unit]\nDescription=Network Manager\n")
          .Add("/usr/sbin/NetworkManager", "ELF", 0x1ED)
          .Add("/var/lib/NetworkManager/internal-4f1c1e2b-eth0.lease", "ADDRESS=10.0.0.4\n")
          .Add("/etc/NetworkManager/system-connections/eth0.nmconnection", "[connection]\nid=eth0\n", 0x180);
        return fs;
    }

    /// <summary>RHEL 8: BLS entries whose options are $kernelopts from grubenv, and grub.cfg's fallback kernelopts.</summary>
    public static InMemoryGuestFileSystem Rhel8()
    {
        var fs = new InMemoryGuestFileSystem();
        fs.Link("/lib", "usr/lib").Dir("/usr/lib");
        AddCommon(fs, Rhel8Kernel, "/lib/modules/" + Rhel8Kernel);
        const string opts = "root=/dev/mapper/rhel-root ro crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet";
        fs.Add("/etc/os-release", "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"8.9 (Ootpa)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"8.9\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 8.9 (Ootpa)\"\n")
          .Add("/usr/bin/dracut", "#!/bin/bash\n", 0x1ED)
          .Add("/etc/default/grub", $"GRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=\"$(sed 's, release .*$,,g' /etc/system-release)\"\nGRUB_DEFAULT=saved\nGRUB_DISABLE_SUBMENU=true\nGRUB_TERMINAL_OUTPUT=\"console\"\nGRUB_CMDLINE_LINUX=\"crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap rhgb quiet\"\nGRUB_DISABLE_RECOVERY=\"true\"\nGRUB_ENABLE_BLSCFG=true\n")
          .Add("/boot/grub2/grub.cfg", $"### BEGIN /etc/grub.d/10_linux ###\ninsmod part_msdos\ninsmod xfs\nset root='hd0,msdos1'\nif [ -z \"${{kernelopts}}\" ]; then\n  set kernelopts=\"{opts} \"\nfi\n\ninsmod blscfg\nblscfg\n### END /etc/grub.d/10_linux ###\n")
          .AddBytes("/boot/grub2/grubenv", GrubEnv("saved_entry=a1b2c3d4e5f60718293a4b5c6d7e8f90-" + Rhel8Kernel, "kernelopts=" + opts, "boot_success=0"))
          .Add($"/boot/loader/entries/a1b2c3d4e5f60718293a4b5c6d7e8f90-{Rhel8Kernel}.conf",
            $"title Red Hat Enterprise Linux (4.18.0-513.5.1.el8_9.x86_64) 8.9 (Ootpa)\nversion {Rhel8Kernel}\nlinux /vmlinuz-{Rhel8Kernel}\ninitrd /initramfs-{Rhel8Kernel}.img $tuned_initrd\noptions $kernelopts $tuned_params\nid rhel-20231114-{Rhel8Kernel}\ngrub_users $grub_users\ngrub_arg --unrestricted\ngrub_class kernel\n")
          .Add("/etc/fstab", "/dev/mapper/rhel-root   /                       xfs     defaults        0 0\nUUID=6b1e8f0a-3c2d-4e5f-8a9b-0c1d2e3f4a5b /boot xfs defaults 0 0\n")
          .Link("/etc/systemd/system/multi-user.target.wants/sshd.service", "/usr/lib/systemd/system/sshd.service")
          .Add("/usr/lib/systemd/system/sshd.service", "[Unit]\n");
        return fs;
    }

    /// <summary>CentOS 6: no os-release, legacy GRUB grub.conf behind /etc/grub.conf, SysV init, a 2.6.32-431 kernel (needs numa=off).</summary>
    public static InMemoryGuestFileSystem CentOs6()
    {
        var fs = new InMemoryGuestFileSystem();
        AddCommon(fs, El6Kernel, "/lib/modules/" + El6Kernel);
        fs.Add("/etc/centos-release", "CentOS release 6.5 (Final)\n")
          .Add("/etc/redhat-release", "CentOS release 6.5 (Final)\n")
          .Add("/sbin/dracut", "#!/bin/bash\n", 0x1ED)
          .Add("/usr/bin/python", "ELF", 0x1ED)
          .Add("/usr/lib/python2.6/site-packages/pyasn1/__init__.py", string.Empty)
          .Add("/etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=build-vm.localdomain\n")
          .Add("/boot/grub/grub.conf", $"""
            # grub.conf generated by anaconda
            #
            # Note that you do not have to rerun grub after making changes to this file
            # NOTICE:  You have a /boot partition.  This means that
            #          all kernel and initrd paths are relative to /boot/, eg.
            #          root (hd0,0)
            #          kernel /vmlinuz-version ro root=/dev/sda2
            #          initrd /initrd-[generic-]version.img
            #boot=/dev/sda
            default=0
            timeout=5
            splashimage=(hd0,0)/grub/splash.xpm.gz
            hiddenmenu
            title CentOS ({El6Kernel})
            	root (hd0,0)
            	kernel /vmlinuz-{El6Kernel} ro root=UUID=3c9a1f2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b rd_NO_LUKS rd_NO_LVM LANG=en_US.UTF-8 rd_NO_MD SYSFONT=latarcyrheb-sun16 crashkernel=auto  KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM rhgb quiet
            	initrd /initramfs-{El6Kernel}.img

            """)
          .Link("/etc/grub.conf", "../boot/grub/grub.conf")
          .Add("/etc/fstab", "UUID=3c9a1f2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b /                       ext4    defaults        1 1\nUUID=7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a /boot                   ext4    defaults        1 2\n/dev/sda3               swap                    swap    defaults        0 0\ntmpfs                   /dev/shm                tmpfs   defaults        0 0\n")
          .Add("/etc/rc.d/init.d/sshd", "#!/bin/bash\n# chkconfig: 2345 55 25\n", 0x1ED)
          .Link("/etc/rc.d/rc3.d/S55sshd", "../init.d/sshd")
          .Add("/etc/rc.d/init.d/waagent", "#!/bin/bash\n", 0x1ED)
          .Link("/etc/rc.d/rc3.d/S85waagent", "../init.d/waagent")
          .Add("/var/lib/dhclient/dhclient-eth0.leases", "lease {}\n")
          .Add("/etc/udev/rules.d/70-persistent-net.rules", "SUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"00:15:5d:01:02:03\", NAME=\"eth0\"\n");
        return fs;
    }

    /// <summary>SLES 15 SP5: GRUB 2 under /boot/grub2, /etc/sysconfig/bootloader, dracut, two crashkernel= values.</summary>
    public static InMemoryGuestFileSystem Sles15()
    {
        var fs = new InMemoryGuestFileSystem();
        fs.Link("/lib", "usr/lib").Dir("/usr/lib");
        AddCommon(fs, SuseKernel, "/lib/modules/" + SuseKernel);
        const string append = "splash=silent resume=/dev/disk/by-uuid/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d mitigations=auto quiet crashkernel=210M,high crashkernel=72M,low";
        fs.Add("/etc/os-release", "NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\nID=\"sles\"\nID_LIKE=\"suse\"\nANSI_COLOR=\"0;32\"\nCPE_NAME=\"cpe:/o:suse:sles:15:sp5\"\n")
          .Add("/usr/bin/dracut", "#!/bin/bash\n", 0x1ED)
          .Add("/etc/default/grub", $"# If you change this file, run 'grub2-mkconfig -o /boot/grub2/grub.cfg' afterwards to update\n# /boot/grub2/grub.cfg.\n\nGRUB_DISTRIBUTOR=\nGRUB_DEFAULT=saved\nGRUB_HIDDEN_TIMEOUT=0\nGRUB_HIDDEN_TIMEOUT_QUIET=true\nGRUB_TIMEOUT=8\nGRUB_CMDLINE_LINUX_DEFAULT=\"{append}\"\nGRUB_CMDLINE_LINUX=\"\"\nGRUB_TERMINAL=\"gfxterm\"\n")
          .Add("/etc/sysconfig/bootloader", $"## Path:\tSystem/Bootloader\n## Description:\tBootloader configuration\n## Type:\tlist(grub,grub2,grub2-efi,none)\n## Default:\tgrub2\n#\n# Type of bootloader in use.\n#\nLOADER_TYPE=\"grub2\"\n\n## Type:\tstring\n## Default:\t\"\"\n#\n# Arguments for kernel which is used in the default bootloader section\n#\nDEFAULT_APPEND=\"{append}\"\n\n## Type:\tstring\n#\n# Arguments for kernel which is used in the failsafe bootloader section\n#\nFAILSAFE_APPEND=\"ide=nodma apm=off noresume edd=off nomodeset 3\"\n")
          .Add("/boot/grub2/grub.cfg", $"### BEGIN /etc/grub.d/10_linux ###\nmenuentry 'SLES 15-SP5'  --class sles --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-5a4b3c2d' {{\n\tload_video\n\tset gfxpayload=keep\n\tinsmod gzio\n\tinsmod part_gpt\n\tinsmod btrfs\n\techo\t'Loading Linux {SuseKernel} ...'\n\tlinux\t/boot/vmlinuz-{SuseKernel} root=UUID=5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d  ${{extra_cmdline}} {append}\n\techo\t'Loading initial ramdisk ...'\n\tinitrd\t/boot/initrd-{SuseKernel}\n}}\n### END /etc/grub.d/10_linux ###\n")
          .Add("/etc/fstab", "UUID=5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d  /  btrfs  defaults  0  0\nUUID=5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d  /home  btrfs  subvol=/@/home  0  0\nUUID=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0  swap  swap  defaults  0  0\n")
          .Link("/etc/systemd/system/multi-user.target.wants/sshd.service", "/usr/lib/systemd/system/sshd.service")
          .Add("/usr/lib/systemd/system/sshd.service", "[Unit]\n")
          .Add("/var/lib/wicked/lease-eth0-dhcp-ipv4.xml", "<lease/>\n");
        return fs;
    }

    public static byte[] GrubEnv(params string[] lines)
    {
        string text = "# GRUB Environment Block\n# WARNING: Do not edit this file by tools other than grub-editenv!!!\n" + string.Concat(lines.Select(l => l + "\n"));
        byte[] block = new byte[1024];
        Array.Fill(block, (byte)'#');
        System.Text.Encoding.ASCII.GetBytes(text).CopyTo(block, 0);
        return block;
    }
}
