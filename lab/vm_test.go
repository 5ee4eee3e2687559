package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPlanNetVM(t *testing.T) {
	p := planNetVM("default", 5, 2)
	if len(p.Hosts) != 7 {
		t.Fatalf("planNetVM(default, 5, 2): %d hosts, want 7", len(p.Hosts))
	}
	for i, h := range p.Hosts {
		if vm := i >= 5; h.VM != vm {
			t.Errorf("%s: VM = %v, want %v", h.Name, h.VM, vm)
		}
		if h.VM && (h.Netns != "" || h.IP != "10.77.0.1"+string(rune('0'+i+1)) || h.Veth != "kp0-h"+string(rune('0'+i+1))) {
			t.Errorf("vm %s: %+v, want no netns, ip 10.77.0.%d, tap kp0-h%d", h.Name, h, 11+i, i+1)
		}
	}
}

func TestGroupsVM(t *testing.T) {
	tests := []struct {
		n, vms int
		node   []int
	}{
		{5, 0, []int{1, 2, 3}},
		{5, 2, []int{6, 7}},
		{1, 1, []int{2}},
		{6, 1, []int{7}},
	}
	for _, tt := range tests {
		g := GroupsVM(tt.n, tt.vms)
		if !reflect.DeepEqual(g["node"], tt.node) {
			t.Errorf("GroupsVM(%d, %d) node = %v, want %v", tt.n, tt.vms, g["node"], tt.node)
		}
		if want := Groups(tt.n); !reflect.DeepEqual(g["etcd"], want["etcd"]) || !reflect.DeepEqual(g["lb"], want["lb"]) {
			t.Errorf("GroupsVM(%d, %d) = %v: etcd/lb differ from Groups(%d) = %v", tt.n, tt.vms, g, tt.n, want)
		}
	}
}

func TestVMConfig(t *testing.T) {
	tests := []struct {
		c   Config
		err string
	}{
		{Config{VMNodes: 2}, ""},
		{Config{Hosts: 199, VMNodes: 2}, "at most 200"},
		{Config{VMNodes: -1}, "at most 200"},
		{Config{VMNodes: 1, VMCPUs: 65}, "vm cpus 65"},
		{Config{VMNodes: 1, VMMemory: 100}, "vm memory 100"},
	}
	for _, tt := range tests {
		c, err := tt.c.withDefaults()
		if tt.err == "" {
			if err != nil || c.VMCPUs != 2 || c.VMMemory != 2048 {
				t.Errorf("%+v: %v, cpus %d memory %d; want defaults 2, 2048", tt.c, err, c.VMCPUs, c.VMMemory)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%+v: error %v, want %q", tt.c, err, tt.err)
		}
	}
}

func TestInventoryVM(t *testing.T) {
	l := &Lab{cfg: Config{Name: "default", Dir: "/srv/lab"}, plan: planNetVM("default", 5, 2)}
	inv := l.inventoryYAML()
	for _, want := range []string{
		"    h6: {ansible_host: 10.77.0.16, ip: 10.77.0.16, lab_vm: true}\n",
		"    h5: {ansible_host: 10.77.0.15, ip: 10.77.0.15}\n",
		"    node:\n      hosts:\n        h6: {}\n        h7: {}\n    masters:",
	} {
		if !strings.Contains(inv, want) {
			t.Errorf("inventory lacks %q:\n%s", want, inv)
		}
	}
}

// TestWriteCpio checks the seed archive against the system's cpio, which
// must list and extract it with modes intact.
func TestWriteCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio here to check the archive with")
	}
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "root/.ssh"), 0o700)
	os.Chmod(filepath.Join(src, "root"), 0o700)
	os.WriteFile(filepath.Join(src, "root/.ssh/authorized_keys"), []byte("ssh-ed25519 AAAA x\n"), 0o600)
	os.MkdirAll(filepath.Join(src, "etc"), 0o755)
	os.WriteFile(filepath.Join(src, "etc/hostname"), []byte("h6\n"), 0o644)
	os.WriteFile(filepath.Join(src, "etc/empty"), nil, 0o644)
	data, err := seedArchive(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(data)%4 != 0 {
		t.Errorf("archive length %d not a multiple of 4", len(data))
	}
	out := t.TempDir()
	cmd := exec.Command("cpio", "-idm", "--quiet", "--no-absolute-filenames")
	cmd.Dir, cmd.Stdin = out, bytes.NewReader(data)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, msg)
	}
	checks := []struct {
		path, data string
		mode       os.FileMode
	}{
		{"kplay-seed/etc/hostname", "h6\n", 0o644},
		{"kplay-seed/etc/empty", "", 0o644},
		{"kplay-seed/root/.ssh/authorized_keys", "ssh-ed25519 AAAA x\n", 0o600},
		{"kplay-seed/root", "", 0o700 | os.ModeDir},
		{"kplay-seed/root/.ssh", "", 0o700 | os.ModeDir},
	}
	for _, c := range checks {
		fi, err := os.Stat(filepath.Join(out, c.path))
		if err != nil {
			t.Errorf("extracted: %v", err)
			continue
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
		if !fi.IsDir() {
			if got, _ := os.ReadFile(filepath.Join(out, c.path)); string(got) != c.data {
				t.Errorf("%s = %q, want %q", c.path, got, c.data)
			}
		}
	}
}

func TestSeedArchiveRefusesSymlink(t *testing.T) {
	src := t.TempDir()
	os.Symlink("/etc/passwd", filepath.Join(src, "link"))
	if _, err := seedArchive(src); err == nil || !strings.Contains(err.Error(), "only files and folders") {
		t.Errorf("seedArchive with a symlink: %v, want refusal", err)
	}
}

func TestVMInitrdPadding(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	os.WriteFile(base, []byte("compressed initrd of 33 bytes...."), 0o644)
	seed := filepath.Join(dir, "seed")
	os.MkdirAll(seed, 0o755)
	out := filepath.Join(dir, "out")
	if err := vmInitrd(base, seed, out); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	if !bytes.HasPrefix(data, []byte("compressed initrd of 33 bytes....")) || !bytes.HasPrefix(data[512:], []byte("070701")) ||
		bytes.Count(data[33:512], []byte{0}) != 512-33 {
		t.Errorf("vm initrd: want base, zeros to 512, then a newc archive; got %q", data[:min(len(data), 600)])
	}
}

func TestQemuArgs(t *testing.T) {
	l := &Lab{cfg: Config{Name: "k", Dir: "/srv/lab"}, plan: planNetVM("k", 1, 1),
		vm: vmSpec{Image: "/img", CPUs: 2, Memory: 2048}}
	h := l.plan.Hosts[1]
	args := l.qemuArgs(h)
	joined := strings.Join(args, " ")
	for _, want := range []string{"-accel tcg,tb-size=256", "-smp 2", "-m 2048", "-kernel /img/vmlinuz",
		"-initrd /srv/lab/hosts/h2/initrd.img", "file=/srv/lab/hosts/h2/disk.qcow2,", "ifname=" + h.Veth + ",",
		"mac=" + h.MAC, "path=/srv/lab/logs/h2.console.log", "-pidfile /srv/lab/hosts/h2/qemu.pid", "-daemonize"} {
		if !strings.Contains(joined, want) {
			t.Errorf("qemu args lack %q: %s", want, joined)
		}
	}
	if slices.Contains(args, "-enable-kvm") {
		t.Errorf("qemu args ask for kvm: %s", joined)
	}
}

func TestVMRecipeHash(t *testing.T) {
	h := VMRecipeHash()
	if len(h) != 12 || h == RecipeHash() {
		t.Errorf("VMRecipeHash() = %q (base %q): want 12 hex digits, unlike the base's", h, RecipeHash())
	}
	t.Logf("vm image recipe %s", h)
}

// fakeQMP serves one QMP connection on sock: a greeting, then an event and
// a reply per command (an error for the command named failing), and sends
// the commands it got.
func fakeQMP(t *testing.T, sock, failing string) <-chan []string {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		fmt.Fprintln(c, `{"QMP": {"version": {}, "capabilities": []}}`)
		dec := json.NewDecoder(c)
		var cmds []string
		for {
			var req struct{ Execute string }
			if dec.Decode(&req) != nil {
				break
			}
			cmds = append(cmds, req.Execute)
			fmt.Fprintln(c, `{"event": "SOMETHING", "timestamp": {}}`)
			if req.Execute == failing {
				fmt.Fprintln(c, `{"error": {"class": "GenericError", "desc": "no"}}`)
				break
			}
			fmt.Fprintln(c, `{"return": {}}`)
		}
		got <- cmds
	}()
	return got
}

func TestQMPCommand(t *testing.T) {
	tests := []struct {
		failing string
		wantErr bool
	}{{"", false}, {"system_powerdown", true}}
	for _, tt := range tests {
		sock := filepath.Join(t.TempDir(), "qmp.sock")
		got := fakeQMP(t, sock, tt.failing)
		err := qmpCommand(sock, "system_powerdown")
		if (err != nil) != tt.wantErr {
			t.Errorf("qmpCommand with %q failing: %v, want error %v", tt.failing, err, tt.wantErr)
		}
		select {
		case cmds := <-got:
			if want := []string{"qmp_capabilities", "system_powerdown"}; !reflect.DeepEqual(cmds, want) {
				t.Errorf("fake QMP got %v, want %v", cmds, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("fake QMP server did not finish")
		}
	}
	if err := qmpCommand(filepath.Join(t.TempDir(), "none.sock"), "system_powerdown"); err == nil {
		t.Error("qmpCommand on a missing socket: no error")
	}
}
