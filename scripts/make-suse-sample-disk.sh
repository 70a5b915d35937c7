#!/usr/bin/env bash
# Builds samples/disks/sles15sp5-btrfs.vhd: SUSE Linux Enterprise Server 15 SP5 as YaST's default
# proposal installs it on a BIOS machine, with Debian's tools:
#   GPT: partition 1 the BIOS boot partition (8 MiB, GRUB's core.img), partition 2 one btrfs root,
#   partition 3 swap (by UUID in fstab, and resume= on the command line).
#   btrfs: the top level holds `@`; under it the subvolumes `@/.snapshots`, `@/var`, `@/home`,
#   `@/opt`, `@/root`, `@/srv`, `@/usr/local`, `@/boot/grub2/i386-pc`, `@/boot/grub2/x86_64-efi`;
#   snapper's `@/.snapshots/1/snapshot` holds the system and is the DEFAULT subvolume (what `/`
#   mounts without options; /boot with the kernel, initrd and grub.cfg is inside it), and
#   `@/.snapshots/2/snapshot` is snapper's read-only "after installation" snapshot of it, sharing
#   its blocks. Changes made after that snapshot (the agent's package, the SSH host keys, the
#   network) live only in snapshot 1, as on an installed system.
#   Metadata DUP, no free space tree (the v1 space cache), no no-holes: what SLES 15's mkfs.btrfs
#   and kernel leave.
# The tree carries what the SDK patches and validates: SUSE's os-release, fstab as YaST writes it
# (`/` by `defaults`, each `@/...` by `subvol=/@/...`), /etc/default/grub, /etc/sysconfig/bootloader,
# grub.cfg as SUSE's grub2-mkconfig writes it (`linux /boot/vmlinuz-... ${extra_cmdline} ...`),
# dracut's configuration and an xz initramfs made by the real dracut without the Hyper-V drivers
# (Debian's kernel and modules under SUSE's version name), wicked's sysconfig and a lease,
# WALinuxAgent with SUSE's packaged waagent.conf, sshd with host keys, chrony, histories, a
# machine-id. The programs are stand-ins, so it does not boot. Needs root: the subvolumes are
# made and filled through a loop mount by the btrfs tools and the kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/disk-steps.sh"
out="$here/samples/disks/sles15sp5-btrfs.vhd"
root_uuid=2f6c9a1e-4b7d-4e3a-8c5f-9d0e1a2b3c04
swap_uuid=9a4e2c6b-1d3f-4a5e-b7c9-0e8f6d4c2a05
mid=5b2d9e4f1a3c47e8b6d0c9f2a1e3b4d7
kver=5.14.21-150500.55.19-default
debian_kver=6.1.0-50-amd64
mib=$((1024 * 1024))

"$here/scripts/install-test-deps.sh"
ensure_sample_root
debian="$sample_cache/rootfs"
[ -d "$debian/lib/modules/$debian_kver" ] || debian_kver=$(ls "$debian/lib/modules" | sort -V | tail -1)
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d /var/tmp/limg-suse.XXXXXX)
mnt=
cleanup() {
  if [ -n "$mnt" ]; then umount "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

t="$tmp/tree"
# SLE 15 is not usr-merged: /bin, /sbin, /lib and /lib64 are directories.
mkdir -p "$t"/{bin,sbin,lib,lib64,etc,usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local,var/lib,var/log,root,home,opt,srv,boot/grub2/i386-pc,boot/grub2/x86_64-efi,.snapshots,tmp,proc,sys,dev,run,mnt}
chmod 555 "$t/proc" "$t/sys"; chmod 1777 "$t/tmp"; chmod 700 "$t/root"

cat > "$t/usr/lib/os-release" <<'EOF'
NAME="SLES"
VERSION="15-SP5"
VERSION_ID="15.5"
PRETTY_NAME="SUSE Linux Enterprise Server 15 SP5"
ID="sles"
ID_LIKE="suse"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:suse:sles:15:sp5"
DOCUMENTATION_URL="https://documentation.suse.com/"
EOF
ln -s ../usr/lib/os-release "$t/etc/os-release"
echo "$mid" > "$t/etc/machine-id"
echo "sles-build.example.invalid" > "$t/etc/hostname"

# YaST's fstab: every subvolume by the file system's UUID, the swap partition by its own.
{
  printf 'UUID=%s  /                       btrfs  defaults                      0  0\n' "$root_uuid"
  for sv in var usr/local srv root opt home boot/grub2/x86_64-efi boot/grub2/i386-pc; do
    printf 'UUID=%s  %-22s  btrfs  subvol=/@/%-20s  0  0\n' "$root_uuid" "/$sv" "$sv"
  done
  printf 'UUID=%s  swap                    swap   defaults                      0  0\n' "$swap_uuid"
  printf 'UUID=%s  /.snapshots             btrfs  subvol=/@/.snapshots          0  0\n' "$root_uuid"
} > "$t/etc/fstab"

cmdline_default="splash=silent resume=/dev/disk/by-uuid/$swap_uuid mitigations=auto quiet security=apparmor crashkernel=199M,high crashkernel=72M,low"
mkdir -p "$t/etc/default"
cat > "$t/etc/default/grub" <<EOF
# If you change this file, run 'grub2-mkconfig -o /boot/grub2/grub.cfg' afterwards to update
# /boot/grub2/grub.cfg.

# Uncomment to set your own custom distributor. If you leave it unset or empty, the default
# policy is to determine the value from /etc/os-release
GRUB_DISTRIBUTOR=
GRUB_DEFAULT=saved
GRUB_HIDDEN_TIMEOUT=0
GRUB_HIDDEN_TIMEOUT_QUIET=true
GRUB_TIMEOUT=8
GRUB_CMDLINE_LINUX_DEFAULT="$cmdline_default"
GRUB_CMDLINE_LINUX=""

# Uncomment to automatically save last booted menu entry in GRUB2 environment
# variable \`saved_entry'
# GRUB_SAVEDEFAULT="true"

# Uncomment to enable BadRAM filtering, modify to suit your needs
# GRUB_BADRAM="0x01234567,0xfefefefe,0x89abcdef,0xefefefef"

# Uncomment to disable graphical terminal (grub-pc only)
GRUB_TERMINAL="gfxterm"

# The resolution used on graphical terminal
GRUB_GFXMODE="auto"

# Uncomment if you don't want GRUB to pass "root=UUID=xxx" parameter to Linux
# GRUB_DISABLE_LINUX_UUID=true

# Uncomment to disable generation of recovery mode menu entries
GRUB_DISABLE_RECOVERY="true"

GRUB_BACKGROUND=
GRUB_THEME=/boot/grub2/themes/SLE/theme.txt
SUSE_BTRFS_SNAPSHOT_BOOTING="true"
GRUB_USE_LINUXEFI="true"
GRUB_DISABLE_OS_PROBER="false"
GRUB_ENABLE_CRYPTODISK="n"
GRUB_CMDLINE_XEN_DEFAULT="vga=gfx-1024x768x16"
EOF
mkdir -p "$t/etc/sysconfig"
cat > "$t/etc/sysconfig/bootloader" <<'EOF'
## Path:	System/Bootloader
## Description:	Bootloader configuration
## Type:	list(grub,grub2,grub2-efi,grub2-bls,systemd-boot,none)
## Default:	grub2
#
# Type of bootloader in use.
#
LOADER_TYPE="grub2"

## Type:	yesno
## Default:	"no"
#
# Enable UEFI Secure Boot support
#
SECURE_BOOT="no"

## Type:	yesno
## Default:	"no"
#
# Enable Trusted Boot support
#
TRUSTED_BOOT="no"

## Type:	yesno
## Default:	"yes"
#
# Update nvram boot settings (UEFI, OF)
#
UPDATE_NVRAM="yes"
EOF

# grub.cfg as SUSE's grub2-mkconfig writes it for a btrfs root with snapshot booting: paths
# relative to the booted subvolume, ${extra_cmdline} (set by a snapshot entry to rootflags=...),
# and snapper's menu of read-only snapshots sourced from /.snapshots.
cat > "$t/boot/grub2/grub.cfg" <<EOF
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub2-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#

### BEGIN /etc/grub.d/00_header ###
set btrfs_relative_path="y"
export btrfs_relative_path
if [ -f \${config_directory}/grubenv ]; then
  load_env -f \${config_directory}/grubenv
elif [ -s \$prefix/grubenv ]; then
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="\${saved_entry}"
fi

if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi

export menuentry_id_option

function load_video {
  if [ x\$feature_all_video_module = xy ]; then
    insmod all_video
  else
    insmod vbe
    insmod vga
    insmod video_bochs
    insmod video_cirrus
  fi
}

if loadfont unicode ; then
  set gfxmode=auto
  load_video
  insmod gfxterm
fi
terminal_output gfxterm
set timeout=8
### END /etc/grub.d/00_header ###

### BEGIN /etc/grub.d/10_linux ###
menuentry 'SLES 15-SP5'  --class sles --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-$root_uuid' {
	load_video
	set gfxpayload=keep
	insmod gzio
	insmod part_gpt
	insmod btrfs
	search --no-floppy --fs-uuid --set=root $root_uuid
	echo	'Loading Linux $kver ...'
	linux	/boot/vmlinuz-$kver root=UUID=$root_uuid  \${extra_cmdline} $cmdline_default
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd-$kver
}
submenu 'Advanced options for SLES 15-SP5' \$menuentry_id_option 'gnulinux-advanced-$root_uuid' {
	menuentry 'SLES 15-SP5, with Linux $kver' --class sles --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-$kver-advanced-$root_uuid' {
		load_video
		set gfxpayload=keep
		insmod gzio
		insmod part_gpt
		insmod btrfs
		search --no-floppy --fs-uuid --set=root $root_uuid
		echo	'Loading Linux $kver ...'
		linux	/boot/vmlinuz-$kver root=UUID=$root_uuid  \${extra_cmdline} $cmdline_default
		echo	'Loading initial ramdisk ...'
		initrd	/boot/initrd-$kver
	}
}

### END /etc/grub.d/10_linux ###

### BEGIN /etc/grub.d/80_suse_btrfs_snapshot ###
if [ -f "/.snapshots/grub-snapshot.cfg" ]; then
  source "/.snapshots/grub-snapshot.cfg"
fi
### END /etc/grub.d/80_suse_btrfs_snapshot ###
EOF
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$t/boot/grub2/i386-pc/"
{
  printf '# GRUB Environment Block\n# WARNING: Do not edit this file by tools other than grub-editenv!!!\n'
  printf 'saved_entry=SLES 15-SP5\n'
} > "$tmp/grubenv"
{ cat "$tmp/grubenv"; printf '#%.0s' $(seq $((1024 - $(stat -c %s "$tmp/grubenv")))); } > "$t/boot/grub2/grubenv"

# The kernel: Debian's, named as SUSE names it (vmlinuz-/initrd-VERSION and the unversioned links).
b="$t/boot"
cp "$debian/boot/vmlinuz-$debian_kver" "$b/vmlinuz-$kver"
cp "$debian/boot/config-$debian_kver" "$b/config-$kver"
cp "$debian/boot/System.map-$debian_kver" "$b/System.map-$kver"
sha512sum "$b/vmlinuz-$kver" | sed "s#  .*# vmlinuz-$kver#" > "$b/.vmlinuz-$kver.hmac"
ln -s "vmlinuz-$kver" "$b/vmlinuz"
ln -s "initrd-$kver" "$b/initrd"
kernel_modules "$debian/lib/modules/$debian_kver" "$tmp/depmod" "$kver" \
  'kernel/(fs/btrfs/btrfs|drivers/hv/hv_(vmbus|utils|balloon)|drivers/scsi/hv_storvsc|drivers/net/hyperv/hv_netvsc|drivers/nvme/host/nvme|drivers/block/virtio_blk|drivers/scsi/sd_mod|drivers/net/virtio_net|drivers/net/ethernet/mellanox/mlx4/mlx4_en|drivers/net/ethernet/mellanox/mlx5/core/mlx5_core|drivers/net/ethernet/microsoft/mana/mana|fs/udf/udf)'
mods="$tmp/depmod/lib/modules/$kver"
mkdir -p "$t/lib/modules"
cp -a "$mods" "$t/lib/modules/"

# dracut as SUSE configures it (xz), run for a KVM install: virtio, SCSI disks, btrfs; no Hyper-V
# drivers. An uncompressed early cpio (CPU microcode; a stand-in blob) comes first, as SUSE's
# ucode packages make dracut add it.
mkdir -p "$t/etc/dracut.conf.d" "$t/usr/lib/dracut/dracut.conf.d" "$t/usr/lib/dracut/modules.d/90btrfs"
cat > "$t/usr/lib/dracut/dracut.conf.d/01-dist.conf" <<'EOF'
# SUSE specific dracut settings
hostonly="yes"
hostonly_cmdline="yes"
compress="xz -0 --check=crc32 --memlimit-compress=50%"
i18n_vars="/etc/sysconfig/language:RC_LANG-LANG,RC_LC_ALL-LC_ALL /etc/sysconfig/console:CONSOLE_UNICODEMAP-FONT_UNIMAP,CONSOLE_FONT-FONT,CONSOLE_SCREENMAP-FONT_MAP /etc/sysconfig/keyboard:KEYTABLE-KEYMAP"
omit_drivers+=" i2o_scsi "
EOF
printf '# The installer'"'"'s choice: the storage stack the installed system boots from\nadd_drivers+=" virtio_blk "\n' > "$t/etc/dracut.conf.d/10-installer.conf"
: > "$t/etc/dracut.conf"
standin "$t/usr/bin/dracut"
ln -s ../usr/bin/dracut "$t/sbin/dracut"
dracut -q --no-hostonly -m "base" --kver "$kver" -k "$mods" --drivers "btrfs virtio_blk sd_mod" --xz --force "$tmp/main.img"
rm -rf "$tmp/early"; mkdir -p "$tmp/early/kernel/x86/microcode"
echo 1 > "$tmp/early/early_cpio"
printf 'stand-in microcode\n' > "$tmp/early/kernel/x86/microcode/GenuineIntel.bin"
(cd "$tmp/early" && find . | sort | cpio -o -H newc -R 0:0 --quiet) > "$b/initrd-$kver"
cat "$tmp/main.img" >> "$b/initrd-$kver"
lsinitrd "$b/initrd-$kver" > "$tmp/lsinitrd"
grep -q "Early CPIO image" "$tmp/lsinitrd" && grep -q "btrfs.ko" "$tmp/lsinitrd" || { echo "the initrd is not as meant" >&2; exit 1; }
if grep -q "hv_vmbus" "$tmp/lsinitrd"; then echo "the initrd already holds Hyper-V drivers" >&2; exit 1; fi

# Services: systemd units (stand-in programs) for sshd, wicked and chrony.
wants="$t/etc/systemd/system/multi-user.target.wants"
mkdir -p "$wants" "$t/usr/lib/systemd/system"
unit() { # name program
  printf '[Unit]\nDescription=%s\n[Service]\nExecStart=%s\n[Install]\nWantedBy=multi-user.target\n' "$1" "$2" > "$t/usr/lib/systemd/system/$1.service"
}
for s in sshd:/usr/sbin/sshd wicked:/usr/sbin/wicked chronyd:/usr/sbin/chronyd; do
  unit "${s%%:*}" "${s#*:}"
  standin "${t}${s#*:}"
  ln -s "/usr/lib/systemd/system/${s%%:*}.service" "$wants/${s%%:*}.service"
done
ln -s /usr/lib/systemd/system/wicked.service "$t/etc/systemd/system/network.service"
standin "$t/usr/bin/python3.6"; ln -s python3.6 "$t/usr/bin/python3"
printf 'pool 2.suse.pool.ntp.org iburst\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\ninclude /etc/chrony.d/*.conf\n' > "$t/etc/chrony.conf"
mkdir -p "$t/etc/chrony.d"

# wicked: the interface by DHCP, its lease in /var/lib/wicked.
n="$t/etc/sysconfig/network"
mkdir -p "$n/scripts" "$n/if-up.d" "$t/var/lib/wicked"
printf "BOOTPROTO='dhcp'\nSTARTMODE='auto'\nZONE=''\n" > "$n/ifcfg-eth0"
printf "STARTMODE='auto'\nBOOTPROTO='static'\nIPADDR='127.0.0.1/8'\nNETMASK='255.0.0.0'\nNETWORK='127.0.0.0'\nBROADCAST='127.255.255.255'\nFIREWALL='no'\n" > "$n/ifcfg-lo"
printf '## Type:\tyesno\n## Default:\tyes\nLINK_REQUIRED="auto"\nWICKED_DEBUG=""\nNETCONFIG_MODULES_ORDER="dns-resolver dns-bind dns-dnsmasq nis ntp-runtime"\nNETCONFIG_DNS_POLICY="auto"\n' > "$n/config"
printf '## Type:\tyesno\n## Default:\tno\nDHCLIENT_SET_HOSTNAME="yes"\nDHCLIENT_SET_DEFAULT_ROUTE="yes"\nDHCLIENT6_MODE="auto"\n' > "$n/dhcp"
printf '<lease>\n  <family>ipv4</family>\n  <type>dhcp</type>\n  <ipv4:dhcp>\n    <address>192.168.122.60</address>\n    <server-address>192.168.122.1</server-address>\n  </ipv4:dhcp>\n</lease>\n' > "$t/var/lib/wicked/lease-eth0-dhcp-ipv4.xml"
ln -s /run/netconfig/resolv.conf "$t/etc/resolv.conf"

# snapper's configuration for the root.
mkdir -p "$t/etc/snapper/configs"
printf 'SUBVOLUME="/"\nFSTYPE="btrfs"\nQGROUP=""\nSPACE_LIMIT="0.5"\nNUMBER_CLEANUP="yes"\nNUMBER_LIMIT="2-10"\nNUMBER_LIMIT_IMPORTANT="4-10"\nTIMELINE_CREATE="no"\n' > "$t/etc/snapper/configs/root"
printf 'SNAPPER_CONFIGS="root"\n' > "$t/etc/sysconfig/snapper"

# Accounts (SUSE's groups: users 100), sudo as SUSE ships it, sshd.
printf 'root:x:0:0:root:/root:/bin/bash\nsshd:x:497:497:SSH daemon:/var/lib/sshd:/usr/sbin/nologin\nsuse:x:1000:100:suse:/home/suse:/bin/bash\n' > "$t/etc/passwd"
printf 'root:$6$saltsalt$Q3b5d0H3hYt9ZP0P8mV0y0W3C1xz3eG7l5m0h9c6b4a2Z1y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9:19800::::::\nsshd:!:19800::::::\nsuse:$6$saltsalt$Q3b5d0H3hYt9ZP0P8mV0y0W3C1xz3eG7l5m0h9c6b4a2Z1y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9:19800:0:99999:7:::\n' > "$t/etc/shadow"
printf 'root:x:0:\nshadow:x:15:\nusers:x:100:\nwheel:x:10:suse\nsshd:x:497:\n' > "$t/etc/group"
chmod 640 "$t/etc/shadow"; chgrp 15 "$t/etc/shadow"
printf 'Defaults always_set_home\nDefaults secure_path="/usr/sbin:/usr/bin:/sbin:/bin"\nDefaults targetpw\nALL   ALL=(ALL) ALL\nroot ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n' > "$t/etc/sudoers"
chmod 440 "$t/etc/sudoers"
mkdir -p "$t/etc/sudoers.d" "$t/etc/ssh" "$t/home/suse" "$t/var/lib/systemd" "$t/var/log"
printf 'PermitRootLogin yes\nPasswordAuthentication yes\nUsePAM yes\nX11Forwarding yes\nSubsystem\tsftp\t/usr/lib/ssh/sftp-server\n' > "$t/etc/ssh/sshd_config"
printf 'zypper up\nsnapper list\n' > "$t/root/.bash_history"
printf 'ls\n' > "$t/home/suse/.bash_history"
chown -R 1000:100 "$t/home/suse"; chmod 700 "$t/home/suse"
head -c 512 /dev/urandom > "$t/var/lib/systemd/random-seed"
printf 'zypper log of the installation\n' > "$t/var/log/zypper.log"

# What happens after the installation's snapshot 2: the agent installed (python3-azure-agent,
# SUSE's packaged waagent.conf), the SSH host keys generated at first boot, the agent's log.
later="$tmp/later"
mkdir -p "$later/etc/ssh" "$later/usr/sbin" "$later/usr/lib/systemd/system" "$later/etc/systemd/system/multi-user.target.wants" "$later/var/log" "$later/usr/lib/udev/rules.d"
agent_standin "$later" python3.6 2.9.1.1
printf '[Unit]\nDescription=Azure Linux Agent\n[Service]\nExecStart=/usr/bin/python3 -u /usr/sbin/waagent -daemon\n[Install]\nWantedBy=multi-user.target\n' > "$later/usr/lib/systemd/system/waagent.service"
ln -s /usr/lib/systemd/system/waagent.service "$later/etc/systemd/system/multi-user.target.wants/waagent.service"
install -m 644 "$debian/lib/udev/rules.d/66-azure-storage.rules" "$later/usr/lib/udev/rules.d/66-azure-storage.rules"
# WALinuxAgent's SUSE configuration: the resource disk formatted, no swap on it.
cat > "$later/etc/waagent.conf" <<'EOF'
#
# Microsoft Azure Linux Agent Configuration
#

# Enable extension handling.
Extensions.Enabled=y

# Which provisioning agent to use: "auto", "waagent", "cloud-init" or "disabled".
Provisioning.Agent=auto

# Password authentication for root account will be unavailable.
Provisioning.DeleteRootPassword=y

# Generate fresh host key pair.
Provisioning.RegenerateSshHostKeyPair=y

# Supported values are "rsa", "dsa", "ecdsa", "ed25519", and "auto".
Provisioning.SshHostKeyPairType=rsa

# Monitor host name changes and publish changes via DHCP requests.
Provisioning.MonitorHostName=y

# Format if unformatted. If 'n', resource disk will not be mounted.
ResourceDisk.Format=y

# File system on the resource disk
ResourceDisk.Filesystem=ext4

# Mount point for the resource disk
ResourceDisk.MountPoint=/mnt/resource

# Create and use swapfile on resource disk.
ResourceDisk.EnableSwap=n

# Size of the swapfile.
ResourceDisk.SwapSizeMB=0

# Enable verbose logging (y|n)
Logs.Verbose=n

# Root device timeout in seconds.
OS.RootDeviceScsiTimeout=300

# Add firewall rules to protect access to Azure host node services
OS.EnableFirewall=y
EOF
host_key_standins "$later" 600
printf 'waagent log of the build VM\n' > "$later/var/log/waagent.log"

# snapper's description of a snapshot: @/.snapshots/N/info.xml.
info() { # num description date [userdata]
  printf '<?xml version="1.0"?>\n<snapshot>\n  <type>single</type>\n  <num>%s</num>\n  <date>%s</date>\n  <description>%s</description>\n%s</snapshot>\n' "$1" "$3" "$2" "${4:-}"
}

# The btrfs root: made by mkfs.btrfs, its subvolumes by the btrfs tools and filled by the kernel.
root="$tmp/root.btrfs" raw="$tmp/disk.raw"
root_mib=2048 swap_mib=128 bios_mib=8
truncate -s $((root_mib * mib)) "$root"
mkfs.btrfs -q -f -U "$root_uuid" -m dup -d single -O ^no-holes -R ^free-space-tree "$root" >/dev/null
mnt=$(mktemp -d /var/tmp/limg-suse-mnt.XXXXXX)
mount -o loop,space_cache=v1 "$root" "$mnt"
btrfs -q subvolume create "$mnt/@"
btrfs -q subvolume create "$mnt/@/.snapshots"
mkdir -p "$mnt/@/.snapshots/1" "$mnt/@/usr" "$mnt/@/boot/grub2"
btrfs -q subvolume create "$mnt/@/.snapshots/1/snapshot"
for sv in var home opt root srv usr/local boot/grub2/i386-pc boot/grub2/x86_64-efi; do
  btrfs -q subvolume create "$mnt/@/$sv"
done
chmod 700 "$mnt/@/root"
info 1 "first root filesystem" "2024-05-02 09:12:41" > "$mnt/@/.snapshots/1/info.xml"
s1="$mnt/@/.snapshots/1/snapshot"
# The system into snapshot 1 without what the separate subvolumes hold (their mount points stay).
copy_tree "$t" "$s1" --exclude=./var/* --exclude=./home/* --exclude=./opt/* --exclude=./root/* \
  --exclude=./srv/* --exclude=./usr/local/* --exclude=./boot/grub2/i386-pc/* --exclude=./boot/grub2/x86_64-efi/*
for sv in var home opt root srv usr/local boot/grub2/i386-pc boot/grub2/x86_64-efi; do
  copy_tree "$t/$sv" "$mnt/@/$sv"
done
id1=$(btrfs inspect-internal rootid "$s1")
btrfs subvolume set-default "$id1" "$mnt" >/dev/null
sync
# snapper's "after installation" snapshot: read-only, sharing every block with snapshot 1.
mkdir -p "$mnt/@/.snapshots/2"
btrfs -q subvolume snapshot -r "$s1" "$mnt/@/.snapshots/2/snapshot"
info 2 "after installation" "2024-05-02 09:20:03" $'  <cleanup>number</cleanup>\n  <userdata>\n    <key>important</key>\n    <value>yes</value>\n  </userdata>\n' \
  > "$mnt/@/.snapshots/2/info.xml"
# snapper's grub menu of read-only snapshots (read from /.snapshots by grub.cfg's 80_suse_btrfs_snapshot).
cat > "$mnt/@/.snapshots/2/grub-snapshot.cfg" <<EOF
if [ -z "\$extra_cmdline" ]; then
  menuentry "SLES 15-SP5 ($kver,2024-05-02T09:20,post,after installation)" {
    btrfs-mount-subvol (\$root) /boot/grub2/i386-pc @/boot/grub2/i386-pc
    btrfs-mount-subvol (\$root) /boot/grub2/x86_64-efi @/boot/grub2/x86_64-efi
    set btrfs_subvol="/@/.snapshots/2/snapshot"
    extra_cmdline="rootflags=subvol=@/.snapshots/2/snapshot"
    export extra_cmdline
    snapshot_num=2
    export snapshot_num
    configfile "/boot/grub2/grub.cfg"
    btrfs_subvol=
    extra_cmdline=
    snapshot_num=
  }
fi
EOF
printf 'submenu "Start bootloader from a read-only snapshot" {\n  source "${prefix}/../../.snapshots/2/grub-snapshot.cfg"\n}\n' > "$mnt/@/.snapshots/grub-snapshot.cfg"
# After the snapshot: the agent, host keys and log, written into snapshot 1 and @/var only.
copy_tree "$later" "$s1" --exclude=./var
copy_tree "$later/var" "$mnt/@/var"
umount "$mnt"; rmdir "$mnt"; mnt=
btrfs check --readonly "$root" >/dev/null 2>&1 || { echo "btrfs check: $root is not clean" >&2; exit 1; }
[ "$(btrfs inspect-internal dump-super "$root" | awk '/^compat_ro_flags/ {print $2}')" = 0x0 ] \
  || { echo "the root got a free space tree" >&2; exit 1; }

# GPT as YaST's BIOS proposal: BIOS boot partition, root, swap at the end.
root_start=$(((1 + bios_mib) * mib)) swap_start=$(((1 + bios_mib + root_mib) * mib))
truncate -s $((swap_start + swap_mib * mib + mib)) "$raw"
printf 'label: gpt\nstart=2048, size=%d, type=21686148-6449-6E6F-744E-656564454649\nstart=%d, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=%d, size=%d, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F\n' \
  $((bios_mib * 2048)) $((root_start / 512)) $((root_mib * 2048)) $((swap_start / 512)) $((swap_mib * 2048)) | sfdisk -q "$raw"
place "$root" "$raw" "$root_start"
truncate -s $((swap_mib * mib)) "$tmp/swap.img"
mkswap -q -U "$swap_uuid" "$tmp/swap.img"
place "$tmp/swap.img" "$raw" "$swap_start"
rm -f "$root" "$tmp/swap.img"

# GRUB's core.img in the BIOS boot partition, as grub2-install leaves it on SUSE: the root found by
# UUID, paths relative to the default subvolume (btrfs_relative_path, a SUSE patch to GRUB).
printf 'search.fs_uuid %s root hd0,gpt2\nset btrfs_relative_path="yes"\nset prefix=($root)/boot/grub2\n' "$root_uuid" > "$tmp/load.cfg"
grub-mkimage -O i386-pc -c "$tmp/load.cfg" -p /boot/grub2 -o "$tmp/core.img" biosdisk part_gpt btrfs search_fs_uuid
grub_bios_setup "$raw" /usr/lib/grub/i386-pc/boot.img "$tmp/core.img" 2048 $((2048 + bios_mib * 2048))
to_vhd "$raw" "$out"
echo "SUSE sample disk: $out"
