package modules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/kplay/kplay/internal/vrrpprobe"
	"github.com/kplay/kplay/shell"
)

// probeBinDir holds the kplay binaries uploaded for the built-in probe,
// named by content (kplay-<sha256 prefix>): a re-run finds its copy and
// uploads nothing; a new kplay version replaces the old copy.
const probeBinDir = "/var/lib/kplay/bin"

// probeNeedsUpload is the exit code of the probe script when the binary is
// missing and must be sent.
const probeNeedsUpload = 97

type probeRun struct {
	method  string
	cmd     string
	adverts []vrrpprobe.Advert
}

// hostEnv is what the probe needs to know of the host: system, machine
// and whether tcpdump is there.
type hostEnv struct {
	os, machine, tcpdump string
}

func (m VRRPProbe) listen(ctx context.Context, c Conn, a VRRPProbeArgs) (probeRun, error) {
	env, err := probeEnv(ctx, c, a.Interface)
	if err != nil {
		return probeRun{}, err
	}
	useTcpdump := a.Method == "tcpdump" || (a.Method == "auto" && env.tcpdump != "")
	if useTcpdump {
		if env.tcpdump == "" {
			return probeRun{}, fmt.Errorf("method tcpdump: tcpdump is not installed")
		}
		return tcpdumpProbe(ctx, c, a)
	}
	if want := goArch(env.machine); env.os != "Linux" || runtime.GOOS != "linux" || want != runtime.GOARCH {
		return probeRun{}, fmt.Errorf("no tcpdump on the host and kplay's built-in probe cannot run there (host %s/%s, this kplay %s/%s): install tcpdump",
			env.os, env.machine, runtime.GOOS, runtime.GOARCH)
	}
	return m.builtinProbe(ctx, c, a)
}

// probeEnv checks the interface and reads uname and tcpdump's path.
func probeEnv(ctx context.Context, c Conn, iface string) (hostEnv, error) {
	q := shell.Quote(iface)
	script := fmt.Sprintf(`test -e /sys/class/net/%s || { echo no interface %s on this host >&2; exit 3; }
echo "$(uname -s) $(uname -m)"; command -v tcpdump || true`, q, q)
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, script, nil, &out, &errb); err != nil {
		return hostEnv{}, execErr("inspect host", iface, err, &errb)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	f := strings.Fields(lines[0])
	if len(f) != 2 {
		return hostEnv{}, fmt.Errorf("inspect host: uname said %q", lines[0])
	}
	env := hostEnv{os: f[0], machine: f[1]}
	if len(lines) > 1 {
		env.tcpdump = strings.TrimSpace(lines[1])
	}
	return env, nil
}

// goArch maps uname -m to GOARCH ("" when unknown).
func goArch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "i386", "i486", "i586", "i686":
		return "386"
	case "armv6l", "armv7l", "armv7":
		return "arm"
	case "ppc64le", "s390x", "riscv64":
		return machine
	}
	return ""
}

// tcpdumpProbe captures with tcpdump, stopped by timeout, as a pcap stream
// parsed here (the same parser as the built-in probe's).
func tcpdumpProbe(ctx context.Context, c Conn, a VRRPProbeArgs) (probeRun, error) {
	cmd := fmt.Sprintf("timeout -s INT %d tcpdump -nn -i %s -U -w - -c 10000 'ip proto 112 or ip6 proto 112'; rc=$?; [ $rc -eq 124 ] && exit 0; exit $rc",
		a.Seconds, shell.Quote(a.Interface))
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, cmd, nil, &out, &errb); err != nil {
		return probeRun{}, execErr("tcpdump", a.Interface, err, &errb)
	}
	adverts, err := vrrpprobe.ReadPcap(&out)
	if err != nil {
		return probeRun{}, fmt.Errorf("tcpdump output: %w", err)
	}
	return probeRun{method: "tcpdump", cmd: cmd, adverts: adverts}, nil
}

// builtinProbe runs `kplay __probe vrrp` on the host from its cached copy,
// uploading (and checking) the copy first when it is not there.
func (m VRRPProbe) builtinProbe(ctx context.Context, c Conn, a VRRPProbeArgs) (probeRun, error) {
	bin, sum, err := m.self()
	if err != nil {
		return probeRun{}, err
	}
	dir := defaultStr(m.BinDir, probeBinDir)
	path := dir + "/kplay-" + sum[:16]
	run := fmt.Sprintf("%s __probe vrrp --if %s --seconds %d --json", shell.Quote(path), shell.Quote(a.Interface), a.Seconds)
	cmd := fmt.Sprintf("test -x %s || exit %d; %s", shell.Quote(path), probeNeedsUpload, run)
	var out, errb bytes.Buffer
	err = c.Exec(ctx, cmd, nil, &out, &errb)
	if ExitCode(err) == probeNeedsUpload {
		out.Reset()
		errb.Reset()
		err = uploadAndRun(ctx, c, bin, sum, dir, path, run, &out, &errb)
	}
	if err != nil {
		return probeRun{}, execErr("kplay __probe vrrp", a.Interface, err, &errb)
	}
	var rep vrrpprobe.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return probeRun{}, fmt.Errorf("kplay __probe vrrp output %q: %w", strings.TrimSpace(out.String()), err)
	}
	return probeRun{method: "kplay probe", cmd: run, adverts: rep.Adverts}, nil
}

// uploadAndRun sends the binary on stdin to a temp file beside path,
// checks its sha256 there, renames it into place, removes other kplay
// copies in the folder, and runs the probe.
func uploadAndRun(ctx context.Context, c Conn, bin, sum, dir, path, run string, out, errb io.Writer) error {
	f, err := os.Open(bin)
	if err != nil {
		return fmt.Errorf("open %s: %w", bin, err)
	}
	defer f.Close()
	script := fmt.Sprintf(`set -e
mkdir -p %[1]s
t=%[1]s/.kplay-upload.$$
trap 'rm -f "$t"' EXIT
cat > "$t"
printf '%%s  %%s\n' %[2]s "$t" | sha256sum -c --status || { echo "uploaded kplay binary does not match sha256 %[2]s" >&2; exit 1; }
chmod 0755 "$t"
mv -f "$t" %[3]s
for o in %[1]s/kplay-*; do [ "$o" = %[3]s ] || rm -f "$o"; done
%[4]s`, shell.Quote(dir), sum, shell.Quote(path), run)
	return c.Exec(ctx, script, f, out, errb)
}

// self finds the binary to upload and its sha256. The sum is computed once
// per binary (path, size, mtime) and process: every LB host of a run, and
// every run of a library user, reuse it instead of re-reading ~20 MB.
func (m VRRPProbe) self() (string, string, error) {
	find := m.Binary
	if find == nil {
		find = os.Executable
	}
	bin, err := find()
	if err != nil {
		return "", "", fmt.Errorf("find the kplay executable: %w", err)
	}
	f, err := os.Open(bin)
	if err != nil {
		return "", "", fmt.Errorf("open %s: %w", bin, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", "", fmt.Errorf("stat %s: %w", bin, err)
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", bin, st.Size(), st.ModTime().UnixNano())
	if sum, ok := selfSums.Load(key); ok {
		return bin, sum.(string), nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", "", fmt.Errorf("read %s: %w", bin, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	selfSums.Store(key, sum)
	return bin, sum, nil
}

// selfSums caches self's sha256 per binary (see self).
var selfSums sync.Map
