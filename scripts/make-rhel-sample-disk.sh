#!/usr/bin/env bash
# Builds the default RHEL-family layout with Debian's tools, as anaconda leaves it on a BIOS machine:
#   samples/disks/alma9-lvm-xfs.vhd    GPT: partition 1 XFS /boot, partition 2 an LVM physical
#                                      volume (VG "almalinux": an XFS root LV and a swap LV),
#                                      partition 3 the BIOS boot partition holding GRUB's core.img;
#                                      an AlmaLinux 9 tree (BLS entries with literal options,
#                                      /etc/kernel/cmdline, grubenv with kernelopts).
#   samples/disks/rocky8-lvm-xfs-mbr.vhd  MBR: the same volumes, GRUB's core.img in the MBR gap; a
#                                      Rocky Linux 8 tree (BLS entries with `options $kernelopts`,
#                                      kernelopts in grubenv, no /etc/kernel/cmdline).
# The trees carry what the SDK patches and validates: os-release, BLS entries, grub.cfg with
# blscfg, grubenv, /etc/default/grub, /etc/dracut.conf.d, fstab (LVs by /dev/mapper or UUID, /boot
# by UUID, the swap LV), NetworkManager and its leases, WALinuxAgent, sshd, SSH host keys, shadow,
# histories, and SELinux labels (security.selinux) on every file. The kernel is Debian's (there is
# no RHEL kernel here) under a RHEL version name, with the modules the Hyper-V drivers need, and a
# real dracut-made initramfs without them. It does not boot: the programs are stand-ins.
# Needs root: loop devices for the LVM tools and for copying trees with their xattrs into XFS.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/disk-steps.sh"
outdir="$here/samples/disks"
boot_uuid=3b9f6d0e-2a4c-4b7e-9f1a-6c8d2e4f5a01
root_uuid=8c2e7a14-5d3b-4f69-a0e7-1b4c9d6e2f02
swap_uuid=5e1d9c37-7b2a-4c8f-b3d6-0a9e8f7c6d03
mid=4a1c0f2e9b8d47c6a5e3f1d2c7b9a8e6
debian_kver=6.1.0-50-amd64
mib=$((1024 * 1024))

"$here/scripts/install-test-deps.sh"
ensure_sample_root
debian="$sample_cache/rootfs"
[ -d "$debian/lib/modules/$debian_kver" ] || debian_kver=$(ls "$debian/lib/modules" | sort -V | tail -1)
mkdir -p "$outdir"
tmp=$(mktemp -d /var/tmp/limg-rhel.XXXXXX)
loop=
cleanup() { [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# make_tree DIR FLAVOR (el9|el8) KVER: the root tree; /boot's contents go to DIR.boot.
make_tree() {
  local t=$1 flavor=$2 kver=$3 b=$1.boot
  local vg name version pretty id idlike cpe root_spec
  if [ "$flavor" = el9 ]; then
    vg=almalinux id=almalinux name=AlmaLinux version="9.4 (Seafoam Ocelot)" pretty="AlmaLinux 9.4 (Seafoam Ocelot)"
    cpe="cpe:/o:almalinux:almalinux:9::baseos" version_id=9.4 root_spec=/dev/mapper/almalinux-root
  else
    vg=rl id=rocky name="Rocky Linux" version="8.9 (Green Obsidian)" pretty="Rocky Linux 8.9 (Green Obsidian)"
    cpe="cpe:/o:rocky:rocky:8:GA" version_id=8.9 root_spec="UUID=$root_uuid"
  fi
  mkdir -p "$t"/{etc,usr/bin,usr/sbin,usr/lib,usr/lib64,var/lib,var/log,root,home,boot,tmp,proc,sys,dev,run} "$b"
  ln -s usr/bin "$t/bin"; ln -s usr/sbin "$t/sbin"; ln -s usr/lib "$t/lib"; ln -s usr/lib64 "$t/lib64"
  chmod 555 "$t/proc" "$t/sys" "$t/boot"; chmod 1777 "$t/tmp"; chmod 550 "$t/root"

  cat > "$t/etc/os-release" <<EOF
NAME="$name"
VERSION="$version"
ID="$id"
ID_LIKE="rhel centos fedora"
VERSION_ID="$version_id"
PLATFORM_ID="platform:el${version_id%%.*}"
PRETTY_NAME="$pretty"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="$cpe"
HOME_URL="https://example.invalid/"
EOF
  echo "$name release $version" > "$t/etc/redhat-release"
  cp "$t/etc/redhat-release" "$t/etc/$id-release"
  ln -s "$id-release" "$t/etc/system-release"
  echo "$mid" > "$t/etc/machine-id"
  echo "build-vm.example.invalid" > "$t/etc/hostname"

  # What anaconda writes: the LVs by /dev/mapper (the Rocky tree names its root by UUID), /boot by UUID.
  cat > "$t/etc/fstab" <<EOF

#
# /etc/fstab
# Created by anaconda
#
$root_spec     /                       xfs     defaults        0 0
UUID=$boot_uuid /boot                   xfs     defaults        0 0
/dev/mapper/$vg-swap     none                    swap    defaults        0 0
EOF

  local crash="crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M"
  [ "$flavor" = el8 ] && crash=crashkernel=auto
  local cmdline="root=/dev/mapper/$vg-root ro $crash resume=/dev/mapper/$vg-swap rd.lvm.lv=$vg/root rd.lvm.lv=$vg/swap rhgb quiet"
  mkdir -p "$t/etc/default"
  cat > "$t/etc/default/grub" <<EOF
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="\$(sed 's, release .*\$,,g' /etc/system-release)"
GRUB_DEFAULT=saved
GRUB_DISABLE_SUBMENU=true
GRUB_TERMINAL_OUTPUT="console"
GRUB_CMDLINE_LINUX="$crash resume=/dev/mapper/$vg-swap rd.lvm.lv=$vg/root rd.lvm.lv=$vg/swap rhgb quiet"
GRUB_DISABLE_RECOVERY="true"
GRUB_ENABLE_BLSCFG=true
EOF
  if [ "$flavor" = el9 ]; then
    mkdir -p "$t/etc/kernel"
    echo "$cmdline" > "$t/etc/kernel/cmdline"
  fi
  mkdir -p "$t/etc/dracut.conf.d" "$t/usr/lib/dracut/modules.d/90lvm"
  printf '# Installed by anaconda: the storage stack the installed system boots from\nadd_dracutmodules+=" lvm "\n' > "$t/etc/dracut.conf.d/50-anaconda.conf"
  printf 'i18n_vars="/etc/sysconfig/keyboard:KEYTABLE-KEYMAP /etc/sysconfig/i18n:SYSFONT-FONT,FONTACM-FONT_MAP,FONT_UNIMAP"\nhostonly="yes"\n' > "$t/etc/dracut.conf"
  standin "$t/usr/bin/dracut"
  ln -s ../bin/dracut "$t/usr/sbin/dracut"
  printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' | install -D -m 644 /dev/stdin "$t/etc/selinux/config"

  # Boot loader: GRUB 2 with blscfg (RHEL's patch) and the BLS entries, relative to /boot.
  mkdir -p "$b/loader/entries" "$b/grub2/i386-pc"
  local title_version=${version%% (*}
  local options="$cmdline"
  [ "$flavor" = el8 ] && options='$kernelopts $tuned_params'
  for entry in "$kver" "0-rescue-$mid"; do
    cat > "$b/loader/entries/$mid-$entry.conf" <<EOF
title $name ($entry) $version
version $entry
linux /vmlinuz-$entry
initrd /initramfs-$entry.img \$tuned_initrd
options $options
id $id-20240501000000-$entry
grub_users \$grub_users
grub_arg --unrestricted
grub_class $id
EOF
  done
  mv "$b/loader/entries/$mid-0-rescue-$mid.conf" "$b/loader/entries/$mid-0-rescue.conf"
  cat > "$b/grub2/grub.cfg" <<EOF
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub2-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#
### BEGIN /etc/grub.d/00_header ###
set pager=1
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
terminal_output console
set timeout=5
### END /etc/grub.d/00_header ###
### BEGIN /etc/grub.d/10_linux ###
insmod part_gpt
insmod xfs
search --no-floppy --fs-uuid --set=root $boot_uuid
EOF
  # RHEL 8's grub2-mkconfig keeps a fallback for a grubenv without kernelopts.
  [ "$flavor" = el8 ] && printf 'if [ -z "${kernelopts}" ]; then\n  set kernelopts="%s "\nfi\n' "$cmdline" >> "$b/grub2/grub.cfg"
  printf 'insmod blscfg\nblscfg\n### END /etc/grub.d/10_linux ###\n' >> "$b/grub2/grub.cfg"
  cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$b/grub2/i386-pc/"
  {
    printf '# GRUB Environment Block\n# WARNING: Do not edit this file by tools other than grub-editenv!!!\n'
    printf 'saved_entry=%s-%s\nmenu_auto_hide=1\nboot_success=0\n' "$mid" "$kver"
    printf 'kernelopts=%s\n' "$cmdline"
  } > "$tmp/grubenv"
  # grub-editenv's block: exactly 1024 bytes, padded with '#'.
  { cat "$tmp/grubenv"; printf '#%.0s' $(seq $((1024 - $(stat -c %s "$tmp/grubenv")))); } > "$b/grub2/grubenv"
  ln -s ../boot/grub2/grub.cfg "$t/etc/grub2.cfg"

  # The kernel: Debian's, named as RHEL names it, with the modules dracut and the SDK need.
  cp "$debian/boot/vmlinuz-$debian_kver" "$b/vmlinuz-$kver"
  cp "$debian/boot/vmlinuz-$debian_kver" "$b/vmlinuz-0-rescue-$mid"
  cp "$debian/boot/config-$debian_kver" "$b/config-$kver"
  cp "$debian/boot/System.map-$debian_kver" "$b/System.map-$kver"
  sha512sum "$b/vmlinuz-$kver" | sed "s#  .*# vmlinuz-$kver#" > "$b/.vmlinuz-$kver.hmac"
  local mods="$tmp/depmod/lib/modules/$kver"
  kernel_modules "$debian/lib/modules/$debian_kver" "$tmp/depmod" "$kver" \
    'kernel/(fs/xfs/xfs|drivers/hv/hv_(vmbus|utils|balloon)|drivers/scsi/hv_storvsc|drivers/net/hyperv/hv_netvsc|drivers/nvme/host/nvme|drivers/md/dm-mod|drivers/block/virtio_blk|drivers/scsi/sd_mod|drivers/net/virtio_net|drivers/net/ethernet/mellanox/mlx4/mlx4_en|drivers/net/ethernet/mellanox/mlx5/core/mlx5_core|drivers/net/ethernet/microsoft/mana/mana|fs/udf/udf)'
  mkdir -p "$t/usr/lib/modules"
  cp -a "$mods" "$t/usr/lib/modules/"
  # The initramfs a KVM install leaves: virtio, SCSI disks, XFS, device-mapper; no Hyper-V drivers.
  # RHEL 9's dracut compresses with zstd behind an uncompressed early cpio (CPU microcode; a
  # stand-in blob here), RHEL 8's with gzip.
  if [ "$flavor" = el9 ]; then
    dracut -q --no-hostonly -m "base" --kver "$kver" -k "$mods" --drivers "xfs virtio_blk sd_mod dm_mod" --zstd --force "$tmp/main.img"
    rm -rf "$tmp/early"; mkdir -p "$tmp/early/kernel/x86/microcode"
    echo 1 > "$tmp/early/early_cpio"
    printf 'stand-in microcode\n' > "$tmp/early/kernel/x86/microcode/GenuineIntel.bin"
    (cd "$tmp/early" && find . | sort | cpio -o -H newc -R 0:0 --quiet) > "$b/initramfs-$kver.img"
    cat "$tmp/main.img" >> "$b/initramfs-$kver.img"
    lsinitrd "$b/initramfs-$kver.img" > "$tmp/lsinitrd"
    grep -q "Early CPIO image" "$tmp/lsinitrd" || { echo "no early cpio in the initramfs" >&2; exit 1; }
  else
    dracut -q --no-hostonly -m "base" --kver "$kver" -k "$mods" --drivers "xfs virtio_blk sd_mod dm_mod" --gzip --force "$b/initramfs-$kver.img"
  fi
  cp "$b/initramfs-$kver.img" "$b/initramfs-0-rescue-$mid.img"

  # Services and the agent: stand-ins where the SDK only looks for the program, real configuration.
  local wants="$t/etc/systemd/system/multi-user.target.wants"
  mkdir -p "$wants" "$t/usr/lib/systemd/system"
  for unit in sshd NetworkManager waagent chronyd; do
    printf '[Unit]\nDescription=%s\n[Service]\nExecStart=/usr/sbin/%s\n[Install]\nWantedBy=multi-user.target\n' "$unit" "$unit" > "$t/usr/lib/systemd/system/$unit.service"
    ln -s "/usr/lib/systemd/system/$unit.service" "$wants/$unit.service"
  done
  # WALinuxAgent's udev rules (the same upstream file Debian's waagent ships).
  install -D -m 644 "$debian/lib/udev/rules.d/66-azure-storage.rules" "$t/usr/lib/udev/rules.d/66-azure-storage.rules"
  standin "$t/usr/sbin/sshd"; standin "$t/usr/sbin/NetworkManager"; standin "$t/usr/sbin/chronyd"
  standin "$t/usr/bin/python3.9"; ln -s python3.9 "$t/usr/bin/python3"
  agent_standin "$t" python3.9 2.7.0.6
  # WALinuxAgent's packaged configuration (RHEL's), with the resource disk left off.
  cat > "$t/etc/waagent.conf" <<'EOF'
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

# Supported values are "rsa", "dsa", "ecdsa", "ed25519", and "auto".
Provisioning.SshHostKeyPairType=rsa

# Monitor host name changes and publish changes via DHCP requests.
Provisioning.MonitorHostName=y

# Format if unformatted. If 'n', resource disk will not be mounted.
ResourceDisk.Format=n

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

# Enable RDMA management and set up, should only be used in HPC images
# OS.EnableRDMA=y

# Allow fallback to HTTP if HTTPS is unavailable
OS.AllowHTTP=n

# Add firewall rules to protect access to Azure host node services
OS.EnableFirewall=y
EOF
  printf 'server 0.pool.ntp.org iburst\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\n' > "$t/etc/chrony.conf"
  mkdir -p "$t/etc/NetworkManager/system-connections" "$t/etc/NetworkManager/conf.d" "$t/var/lib/NetworkManager"
  printf '[main]\n#plugins=keyfile,ifcfg-rh\n\n[logging]\n#level=DEBUG\n' > "$t/etc/NetworkManager/NetworkManager.conf"
  printf '[connection]\nid=enp1s0\nuuid=0c3e4b57-3a0e-4d3a-9b5e-2f1d6c7a8b90\ntype=ethernet\ninterface-name=enp1s0\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n' > "$t/etc/NetworkManager/system-connections/enp1s0.nmconnection"
  chmod 600 "$t/etc/NetworkManager/system-connections/enp1s0.nmconnection"
  printf '# generated by NetworkManager\nADDRESS=192.168.122.50\nNETMASK=255.255.255.0\nSERVER_ADDRESS=192.168.122.1\n' > "$t/var/lib/NetworkManager/internal-0c3e4b57-3a0e-4d3a-9b5e-2f1d6c7a8b90-enp1s0.lease"
  printf '# Generated by NetworkManager\nsearch example.invalid\nnameserver 192.168.122.1\n' > "$t/etc/resolv.conf"

  # Accounts and machine state that deprovisioning clears.
  printf 'root:x:0:0:root:/root:/bin/bash\nsshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin\nalma:x:1000:1000:alma:/home/alma:/bin/bash\n' > "$t/etc/passwd"
  printf 'root:$6$saltsalt$Q3b5d0H3hYt9ZP0P8mV0y0W3C1xz3eG7l5m0h9c6b4a2Z1y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9:19800:0:99999:7:::\nsshd:!!:19800::::::\nalma:$6$saltsalt$Q3b5d0H3hYt9ZP0P8mV0y0W3C1xz3eG7l5m0h9c6b4a2Z1y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9:19800:0:99999:7:::\n' > "$t/etc/shadow"
  printf 'root:x:0:\nwheel:x:10:alma\nsshd:x:74:\nalma:x:1000:\n' > "$t/etc/group"
  printf 'root:::\nwheel:::alma\nsshd:!::\nalma:!::\n' > "$t/etc/gshadow"
  chmod 000 "$t/etc/shadow" "$t/etc/gshadow"
  mkdir -p "$t/etc/ssh" "$t/home/alma" "$t/var/lib/systemd"
  host_key_standins "$t" 640
  printf 'PermitRootLogin prohibit-password\nPasswordAuthentication yes\nClientAliveInterval 180\n' > "$t/etc/ssh/sshd_config"
  printf 'dnf update -y\nsudo reboot\n' > "$t/root/.bash_history"
  printf 'ls\n' > "$t/home/alma/.bash_history"
  chown -R 1000:1000 "$t/home/alma"; chmod 700 "$t/home/alma"
  head -c 512 /dev/urandom > "$t/var/lib/systemd/random-seed"
  printf 'waagent log of the build VM\n' > "$t/var/log/waagent.log"

  # SELinux labels, as a relabelled RHEL system carries them on every file.
  label() { # dir context
    find "$1" -xdev -exec setfattr -h -n security.selinux -v "$2" {} +
  }
  label "$t" system_u:object_r:default_t:s0
  label "$t/etc" system_u:object_r:etc_t:s0
  setfattr -n security.selinux -v system_u:object_r:shadow_t:s0 "$t/etc/shadow" "$t/etc/gshadow"
  setfattr -n security.selinux -v system_u:object_r:net_conf_t:s0 "$t/etc/resolv.conf"
  label "$t/etc/ssh" system_u:object_r:sshd_key_t:s0
  label "$t/usr" system_u:object_r:usr_t:s0
  label "$t/usr/lib/modules" system_u:object_r:modules_object_t:s0
  label "$t/root" system_u:object_r:admin_home_t:s0
  label "$t/home" system_u:object_r:user_home_t:s0
  label "$t/var" system_u:object_r:var_t:s0
  label "$b" system_u:object_r:boot_t:s0
  setfattr -n security.selinux -v system_u:object_r:etc_t:s0 "$b/loader/entries"/*.conf
}

# make_disk NAME FLAVOR LABEL(gpt|dos): the disk, its PV laid out by the LVM tools on a loop device.
make_disk() {
  local name=$1 flavor=$2 scheme=$3 vg
  [ "$flavor" = el9 ] && vg=almalinux || vg=rl
  local kver
  [ "$flavor" = el9 ] && kver=5.14.0-427.13.1.el9_4.x86_64 || kver=4.18.0-513.5.1.el8_9.x86_64
  local t="$tmp/$flavor" raw="$tmp/disk.raw"
  rm -rf "$t" "$t.boot"
  make_tree "$t" "$flavor" "$kver"
  # 1 MiB (GPT: the BIOS boot partition), /boot 512 MiB, the PV 1280 MiB, 1 MiB for the backup GPT.
  local boot_start=$((2 * mib)) boot_size=$((512 * mib)) pv_size=$((1280 * mib))
  local pv_start=$((boot_start + boot_size)) swap_mib=128
  truncate -s $((pv_start + pv_size + mib)) "$raw"
  if [ "$scheme" = gpt ]; then
    printf 'label: gpt\nstart=%d, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=%d, size=%d, type=E6D6D379-F507-44C2-A23C-238F2A3DF928\nstart=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649\n' \
      $((boot_start / 512)) $((boot_size / 512)) $((pv_start / 512)) $((pv_size / 512)) | sfdisk -q "$raw"
  else
    printf 'label: dos\nstart=%d, size=%d, type=83, bootable\nstart=%d, size=%d, type=8e\n' \
      $((boot_start / 512)) $((boot_size / 512)) $((pv_start / 512)) $((pv_size / 512)) | sfdisk -q "$raw"
  fi

  # The PV on its own file: pvcreate, vgcreate and lvcreate write only LVM metadata there.
  local pv="$tmp/pv.img"
  rm -f "$pv"; truncate -s "$pv_size" "$pv"
  loop=$(losetup -f --show "$pv")
  lvm_on "$loop" pvcreate -q -y -ff "$loop"
  lvm_on "$loop" vgcreate -q "$vg" "$loop"
  lvm_on "$loop" lvcreate -q -an -Zn -L ${swap_mib}M -n swap "$vg"
  lvm_on "$loop" lvcreate -q -an -Zn -l 100%FREE -n root "$vg"
  local pe_start extent root_pe root_extents
  pe_start=$(lvm_on "$loop" pvs --noheadings --units b --nosuffix -o pe_start "$loop" | tr -d ' ')
  extent=$(lvm_on "$loop" vgs --noheadings --units b --nosuffix -o vg_extent_size "$vg" | tr -d ' ')
  read -r root_pe root_extents < <(lvm_on "$loop" lvs --noheadings --nosuffix -o seg_pe_ranges,seg_size_pe "$vg/root" | sed 's#.*:\([0-9]*\)-[0-9]*#\1#')
  local swap_pe
  swap_pe=$(lvm_on "$loop" lvs --noheadings -o seg_pe_ranges "$vg/swap" | sed 's#.*:\([0-9]*\)-[0-9]*#\1#' | tr -d ' ')
  losetup -d "$loop"; loop=

  # The file systems at their offsets in the PV: root XFS filled through a loop mount (SELinux xattrs), swap by mkswap.
  local root_img="$tmp/root.xfs" boot_img="$tmp/boot.xfs" swap_img="$tmp/swap.img"
  rm -f "$root_img" "$boot_img" "$swap_img"
  truncate -s $((root_extents * extent)) "$root_img"
  mkfs.xfs -q -m uuid="$root_uuid" "$root_img"
  xfs_fill "$root_img" "$t"
  truncate -s "$boot_size" "$boot_img"
  mkfs.xfs -q -m uuid="$boot_uuid" "$boot_img"
  xfs_fill "$boot_img" "$t.boot"
  truncate -s $((swap_mib * mib)) "$swap_img"
  mkswap -q -U "$swap_uuid" "$swap_img"
  place "$root_img" "$pv" $((pe_start + root_pe * extent))
  place "$swap_img" "$pv" $((pe_start + swap_pe * extent))
  place "$pv" "$raw" "$pv_start"
  place "$boot_img" "$raw" "$boot_start"
  rm -f "$root_img" "$boot_img" "$swap_img" "$pv"

  # GRUB as grub2-install sets it up for BIOS: core.img reads XFS /boot (GPT: in the BIOS boot partition).
  local part=part_msdos core_at=1
  [ "$scheme" = gpt ] && part=part_gpt core_at=2048
  printf 'search.fs_uuid %s root\nset prefix=($root)/grub2\n' "$boot_uuid" > "$tmp/load.cfg"
  grub-mkimage -O i386-pc -c "$tmp/load.cfg" -p /grub2 -o "$tmp/core.img" biosdisk $part xfs lvm search_fs_uuid
  grub_bios_setup "$raw" /usr/lib/grub/i386-pc/boot.img "$tmp/core.img" $core_at 4096
  to_vhd "$raw" "$outdir/$name"
  rm -f "$raw"
  echo "RHEL-family sample disk: $outdir/$name"
}

make_disk alma9-lvm-xfs.vhd el9 gpt
make_disk rocky8-lvm-xfs-mbr.vhd el8 dos
