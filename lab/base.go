package lab

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// suite is the Debian release every lab host runs.
const suite = "bookworm"

// basePackages are installed into the base image: a small systemd server
// with sshd, plus what the shipped roles install in offline mode. Services
// among them are installed but disabled; the tool under test enables them.
var basePackages = []string{
	"systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2",
	"iputils-ping", "procps", "curl", "ca-certificates", "openssl", "sudo",
	"keepalived", "nginx", "libnginx-mod-stream", "haproxy",
	"etcd-server", "etcd-client", "arping",
}

// configureScript turns a fresh debootstrap into the lab's base; $1 is its
// root. It runs on the machine with host tools (systemctl --root), so the
// base needs no chroot mounts.
const configureScript = `set -eu
R=$1
systemctl --root="$R" disable keepalived.service nginx.service haproxy.service etcd.service
systemctl --root="$R" mask apt-daily.timer apt-daily-upgrade.timer fstrim.timer \
  e2scrub_all.timer e2scrub_reap.service getty.target console-getty.service \
  getty@.service serial-getty@.service systemd-timesyncd.service
systemctl --root="$R" enable ssh.service
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\nRuntimeMaxFileSize=4M\n' > "$R/etc/systemd/journald.conf.d/kplay-lab.conf"
printf '%s\n' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'PermitRootLogin prohibit-password' \
  'PasswordAuthentication no' 'KbdInteractiveAuthentication no' 'UseDNS no' \
  'MaxStartups 200:30:400' 'MaxSessions 100' > "$R/etc/ssh/sshd_config.d/kplay-lab.conf"
rm -f "$R"/etc/ssh/ssh_host_*
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$R/var/lib/dbus/machine-id"
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*
mkdir -p -m 0700 "$R/root/.ssh"
`

// recipeVersion changes when the build steps change in a way the package
// list and script above do not show.
const recipeVersion = "1"

// RecipeHash identifies the base image recipe; a new hash means a new base.
func RecipeHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s", recipeVersion, suite, strings.Join(basePackages, ","), configureScript)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// BaseInfo records how and when a base image was built.
type BaseInfo struct {
	Recipe   string    `json:"recipe"`
	Mirror   string    `json:"mirror"`
	Built    time.Time `json:"built"`
	Seconds  float64   `json:"build_seconds"`
	Packages []string  `json:"packages"`
}

// readBaseInfo reads the info.json of a base image dir.
func readBaseInfo(dir string) (BaseInfo, error) {
	var info BaseInfo
	data, err := os.ReadFile(filepath.Join(dir, "info.json"))
	if err != nil {
		return info, fmt.Errorf("base image info: %w", err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("base image info %s: %w", dir, err)
	}
	return info, nil
}

// baseDir is where the base for the current recipe lives.
func baseDir(stateDir string) string {
	return filepath.Join(stateDir, "base-"+RecipeHash())
}

// BaseCached says whether the base image for the current recipe is built.
func BaseCached(stateDir string) bool {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	return imageBuilt(baseDir(stateDir))
}

// ensureBase returns the root of the base image, building it first when the
// current recipe has none. The build goes to a temp dir renamed into place,
// so a half base never shows.
func ensureBase(ctx context.Context, c Config) (string, error) {
	dir := baseDir(c.StateDir)
	cached := func() bool { return BaseCached(c.StateDir) }
	return filepath.Join(dir, "rootfs"), buildOnce(c.StateDir, "base.lock", "base image", cached,
		func() error { return buildBase(ctx, c, dir) })
}

// buildOnce runs build unless cached says the image is there, holding the
// lock file stateDir/lockName meanwhile, so that concurrent labs build one
// recipe once (the second finds it cached after the first). what names the
// image in errors.
func buildOnce(stateDir, lockName, what string, cached func() bool, build func() error) error {
	if cached() {
		return nil
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	lock, err := os.OpenFile(filepath.Join(stateDir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("%s lock: %w", what, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("%s lock: %w", what, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if cached() {
		return nil
	}
	return build()
}

// buildBase debootstraps and configures a base into a temp dir, then
// renames it to dir.
func buildBase(ctx context.Context, c Config, dir string) error {
	return buildImage(ctx, c, dir, imageRecipe{what: "base image", hash: RecipeHash(), took: "about a minute",
		tools: []string{"debootstrap"}, packages: basePackages, configure: configureScript})
}

// imageRecipe is what buildImage makes: a debootstrapped, configured root
// (dir/rootfs), then whatever finish makes of it (the VM image packs it
// into a disk).
type imageRecipe struct {
	what, hash, took string // "base image", its recipe hash, how long a build takes
	tools            []string
	packages         []string
	configure        string                                            // sh script, $1 = the root
	finish           func(ctx context.Context, root, tmp string) error // nil: keep the root
}

// buildImage builds r into dir.tmp and renames it to dir, so a half-built
// image never shows; info.json marks it built.
func buildImage(ctx context.Context, c Config, dir string, r imageRecipe) error {
	for _, t := range r.tools {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("build %s: %s not found (run `make lab-deps`): %w", r.what, t, err)
		}
	}
	mirror := c.Mirror
	if mirror == "" {
		mirror = DetectMirror()
	}
	tmp := dir + ".tmp"
	if err := removeTree(tmp); err != nil {
		return fmt.Errorf("build %s: clean old attempt: %w", r.what, err)
	}
	start := time.Now()
	fmt.Fprintf(c.Log, "building %s %s from %s (once; %s)\n", r.what, filepath.Base(dir), mirror, r.took)
	root := filepath.Join(tmp, "rootfs")
	if err := os.MkdirAll(filepath.Join(c.StateDir, "debcache"), 0o755); err != nil {
		return fmt.Errorf("build %s: %w", r.what, err)
	}
	args := []string{"--variant=minbase", "--include=" + strings.Join(r.packages, ","),
		"--cache-dir=" + filepath.Join(c.StateDir, "debcache"), suite, root, mirror}
	if out, err := runLong(ctx, "debootstrap", args...); err != nil {
		unmountAll(tmp)
		return fmt.Errorf("build %s: debootstrap: %s: %w", r.what, lastLines(out, 5), err)
	}
	if err := unmountAll(tmp); err != nil {
		return fmt.Errorf("build %s: %w", r.what, err)
	}
	if out, err := runLong(ctx, "sh", "-c", r.configure, "configure", root); err != nil {
		unmountAll(tmp)
		return fmt.Errorf("build %s: configure: %s: %w", r.what, lastLines(out, 5), err)
	}
	if r.finish != nil {
		if err := r.finish(ctx, root, tmp); err != nil {
			return fmt.Errorf("build %s: %w", r.what, err)
		}
	}
	info := BaseInfo{Recipe: r.hash, Mirror: mirror, Built: time.Now().UTC(),
		Seconds: time.Since(start).Seconds(), Packages: r.packages}
	data, _ := json.MarshalIndent(info, "", "  ")
	if err := writeFile(filepath.Join(tmp, "info.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("build %s: %w", r.what, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("build %s: %w", r.what, err)
	}
	fmt.Fprintf(c.Log, "%s built in %.0fs\n", r.what, info.Seconds)
	return nil
}

// imageBuilt says whether an image folder is complete (its info.json is
// written last).
func imageBuilt(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "info.json"))
	return err == nil
}

// runLong runs a long command (no short timeout) and returns its output.
func runLong(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// lastLines keeps the tail of a long output for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// DetectMirror finds the Debian mirror in this machine's apt sources (the
// one-line and deb822 formats), so the lab uses the network the machine has.
func DetectMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		if m := mirrorIn(f); m != "" {
			return m
		}
	}
	return "http://deb.debian.org/debian"
}

// mirrorIn returns the first URI in an apt sources file that serves the lab's
// suite (not the security or updates suites).
func mirrorIn(path string) string {
	fh, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer fh.Close()
	var uris []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[0] == "deb" && !strings.HasPrefix(f[1], "[") && f[2] == suite:
			return f[1]
		case len(f) >= 2 && f[0] == "URIs:":
			uris = f[1:]
		case len(f) >= 2 && f[0] == "Suites:" && len(uris) > 0:
			for _, s := range f[1:] {
				if s == suite {
					return uris[0]
				}
			}
		case len(f) == 0:
			uris = nil
		}
	}
	return ""
}

// EnsureBase builds the base image for c unless it is cached, and returns
// its root; `kplay lab up` calls it, and it lets a caller pay the build
// cost up front.
func EnsureBase(ctx context.Context, c Config) (string, error) {
	c, err := c.withDefaults()
	if err != nil {
		return "", err
	}
	if err := checkRoot(); err != nil {
		return "", err
	}
	return ensureBase(ctx, c)
}
