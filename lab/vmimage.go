package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// vmPackages are installed into the VM image: a systemd server with its own
// kernel (the cloud flavour: virtio drivers, small), udev and kmod (without
// udev the boot waits 90 s for the serial console), and what a Kubernetes
// node needs offline: containerd, runc, the CNI plugins and the netfilter
// tools kube-proxy and CNI plugins call.
var vmPackages = []string{
	"systemd", "systemd-sysv", "dbus", "udev", "kmod", "openssh-server",
	"iproute2", "iputils-ping", "procps", "curl", "ca-certificates", "openssl",
	"sudo", "e2fsprogs", "linux-image-cloud-amd64", "initramfs-tools",
	"containerd", "runc", "containernetworking-plugins", "iptables", "nftables",
	"conntrack", "socat", "ethtool", "ebtables",
}

// vmConfigureScript turns a fresh debootstrap into the VM image root; $1 is
// the root. Like configureScript, plus: networkd (each VM's address comes
// in its seed), an fstab for the virtio disk, and a small initrd (only the
// virtio and ext4 modules, klibc instead of busybox) with a hook that
// copies the VM's seed (kplay-seed/ in a second, per-VM initrd archive)
// into the root before systemd starts, once per disk.
const vmConfigureScript = `set -eu
R=$1
systemctl --root="$R" mask apt-daily.timer apt-daily-upgrade.timer fstrim.timer \
  e2scrub_all.timer e2scrub_reap.service getty.target console-getty.service \
  getty@.service serial-getty@.service systemd-timesyncd.service
systemctl --root="$R" enable ssh.service systemd-networkd.service containerd.service
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\nRuntimeMaxFileSize=4M\n' > "$R/etc/systemd/journald.conf.d/kplay-lab.conf"
printf '%s\n' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'PermitRootLogin prohibit-password' \
  'PasswordAuthentication no' 'KbdInteractiveAuthentication no' 'UseDNS no' \
  'MaxStartups 200:30:400' 'MaxSessions 100' > "$R/etc/ssh/sshd_config.d/kplay-lab.conf"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$R/etc/fstab"
rm -f "$R"/etc/ssh/ssh_host_*
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$R/var/lib/dbus/machine-id"
mkdir -p -m 0700 "$R/root/.ssh"
I=$R/etc/initramfs-tools
mkdir -p "$I/conf.d" "$I/hooks" "$I/scripts/init-bottom"
printf 'MODULES=list\nBUSYBOX=n\nCOMPRESS=gzip\n' > "$I/conf.d/kplay-lab.conf"
printf '%s\n' virtio_pci virtio_blk virtio_net > "$I/modules"
cat > "$I/hooks/kplay-seed" <<'EOF'
#!/bin/sh
[ "${1:-}" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
copy_exec /bin/cp /bin
EOF
cat > "$I/scripts/init-bottom/kplay-seed" <<'EOF'
#!/bin/sh
[ "${1:-}" = prereqs ] && exit 0
if [ -d /kplay-seed ] && [ ! -e "${rootmnt}/var/lib/kplay-seeded" ]; then
  cp -a /kplay-seed/. "${rootmnt}/" && : > "${rootmnt}/var/lib/kplay-seeded"
fi
exit 0
EOF
chmod 0755 "$I/hooks/kplay-seed" "$I/scripts/init-bottom/kplay-seed"
K=$(ls "$R/lib/modules")
mount -t proc proc "$R/proc"
trap 'umount "$R/proc"' EXIT
chroot "$R" mkinitramfs -o /boot/kplay-initrd.img "$K"
rm -f "$R"/boot/initrd.img-*
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*
`

// vmRecipeVersion changes when the VM image build changes in a way the
// package list and scripts do not show.
const vmRecipeVersion = "1"

// vmDiskSize is the virtual size of the VM image's root file system; the
// raw file is sparse and each VM's qcow2 overlay holds only its writes.
const vmDiskSize = "8G"

// VMRecipeHash identifies the VM image recipe; a new hash means a new image.
func VMRecipeHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s", vmRecipeVersion, suite, strings.Join(vmPackages, ","), vmConfigureScript, vmDiskSize)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// vmImageDir is where the VM image for the current recipe lives: kernel,
// initrd, disk.raw and info.json.
func vmImageDir(stateDir string) string {
	return filepath.Join(stateDir, "vm-"+VMRecipeHash())
}

// VMImageCached says whether the VM image for the current recipe is built.
func VMImageCached(stateDir string) bool {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	return imageBuilt(vmImageDir(stateDir))
}

// ensureVMImage returns the VM image dir, building it first when the
// current recipe has none (under its own lock, vm.lock).
func ensureVMImage(ctx context.Context, c Config) (string, error) {
	dir := vmImageDir(c.StateDir)
	cached := func() bool { return VMImageCached(c.StateDir) }
	return dir, buildOnce(c.StateDir, "vm.lock", "vm image", cached,
		func() error { return buildVMImage(ctx, c, dir) })
}

// buildVMImage debootstraps and configures the VM root in a temp dir, takes
// its kernel and initrd out, packs the root into a sparse ext4 disk.raw
// (mkfs.ext4 -d: no loop device, no mount), then renames the temp dir to dir.
func buildVMImage(ctx context.Context, c Config, dir string) error {
	return buildImage(ctx, c, dir, imageRecipe{what: "vm image", hash: VMRecipeHash(), took: "a few minutes",
		tools: []string{"debootstrap", "mkfs.ext4", "chroot"}, packages: vmPackages, configure: vmConfigureScript,
		finish: packVMImage})
}

// packVMImage copies the kernel and the kplay initrd out of root into dir
// and makes dir/disk.raw from root, then deletes root.
func packVMImage(ctx context.Context, root, dir string) error {
	kernels, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return fmt.Errorf("want one kernel in %s/boot, found %d", root, len(kernels))
	}
	for src, dst := range map[string]string{kernels[0]: "vmlinuz", filepath.Join(root, "boot", "kplay-initrd.img"): "initrd.img"} {
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("take %s out: %w", filepath.Base(src), err)
		}
		if err := writeFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			return err
		}
	}
	disk := filepath.Join(dir, "disk.raw")
	if out, err := runLong(ctx, "mkfs.ext4", "-q", "-F", "-L", "kplay-root", "-E", "root_owner=0:0", "-d", root, disk, vmDiskSize); err != nil {
		return fmt.Errorf("mkfs.ext4 -d: %s: %w", lastLines(out, 5), err)
	}
	if err := os.Chmod(disk, 0o444); err != nil { // the shared backing file: never written
		return fmt.Errorf("vm image disk: %w", err)
	}
	return removeTree(root)
}

// EnsureVMImage builds the VM image for c unless it is cached and returns
// its dir; `kplay lab up --vm-nodes` calls it, and `kplay lab base --vm`
// lets a caller pay the build cost up front.
func EnsureVMImage(ctx context.Context, c Config) (string, error) {
	c, err := c.withDefaults()
	if err != nil {
		return "", err
	}
	if err := checkRoot(); err != nil {
		return "", err
	}
	return ensureVMImage(ctx, c)
}
