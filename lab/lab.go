package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Lab is a lab that is (or was) up: its config, network plan and keys. Its
// state file in the lab dir lets another process (`kplay lab down`) find it.
type Lab struct {
	cfg  Config
	plan netPlan
	base string     // base image root (the overlay's lower dir)
	key  ssh.Signer // lab key, authorized for root on every host
	vm   vmSpec     // what the lab's VMs boot (vm.go); zero without VMs
}

// state is what lab.json in the lab dir holds.
type state struct {
	Name  string  `json:"name"`
	Dir   string  `json:"dir"`
	Base  string  `json:"base"`
	Net   netPlan `json:"net"`
	Up    string  `json:"up_at"`
	Taken float64 `json:"up_seconds,omitempty"`
	VM    *vmSpec `json:"vm,omitempty"`
}

// statePath is the lab's state file.
func statePath(dir string) string { return filepath.Join(dir, "lab.json") }

// Up brings a lab up: base image (built once), bridge, one booted host per
// Config.Hosts, and the inventory, ssh_config and known_hosts; it returns
// when every host's sshd accepts the lab key. On failure it tears down what
// it made.
func Up(ctx context.Context, c Config) (*Lab, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkTools(c.VMNodes > 0); err != nil {
		return nil, err
	}
	if old, err := Open(c.Dir); err == nil {
		if old.anyRunning() {
			return nil, fmt.Errorf("lab %s is already up in %s: run `kplay lab down` first", old.cfg.Name, c.Dir)
		}
		if err := old.Down(ctx); err != nil {
			return nil, fmt.Errorf("clean old lab: %w", err)
		}
	}
	start := time.Now()
	base, err := ensureBase(ctx, c)
	if err != nil {
		return nil, err
	}
	l := &Lab{cfg: c, plan: planNetVM(c.Name, c.Hosts, c.VMNodes), base: base}
	if err := l.useVMImage(ctx); err != nil {
		return nil, err
	}
	if err := checkBridgeAddr(l.plan); err != nil {
		return nil, err
	}
	if err := l.prepare(); err != nil {
		return nil, err
	}
	if err := l.boot(ctx); err != nil {
		return nil, errors.Join(err, l.Down(context.WithoutCancel(ctx)))
	}
	l.saveState(time.Since(start).Seconds())
	fmt.Fprintf(c.Log, "lab %s: %d hosts up in %.1fs; inventory %s\n", c.Name, len(l.plan.Hosts), time.Since(start).Seconds(), l.Inventory())
	return l, nil
}

// checkTools fails clearly when the lab (with VMs if vms) cannot run on
// this machine.
func checkTools(vms bool) error {
	if err := checkRoot(); err != nil {
		return err
	}
	for _, t := range []string{"systemd-nspawn", "ip"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("kplay lab needs %s, not found (run `make lab-deps`): %w", t, err)
		}
	}
	if vms {
		return checkVMTools()
	}
	return nil
}

// prepare writes the lab dir: state, launcher, lab key and host keys.
func (l *Lab) prepare() error {
	if err := os.MkdirAll(l.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("lab dir: %w", err)
	}
	if err := l.saveState(0); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(l.cfg.Dir, "launcher.sh"), []byte(launcherScript), 0o755); err != nil {
		return err
	}
	key, err := keyPair(l.KeyFile(), "kplay-lab-"+l.cfg.Name)
	if err != nil {
		return err
	}
	l.key = key
	for _, h := range l.plan.Hosts {
		p := filepath.Join(l.cfg.Dir, "hostkeys", h.Name, "ssh_host_ed25519_key")
		if _, err := keyPair(p, "root@"+h.Name); err != nil {
			return err
		}
	}
	return l.writeClientFiles()
}

// saveState writes lab.json, first of all so that Down can always find
// what a half-done Up made.
func (l *Lab) saveState(took float64) error {
	s := state{Name: l.cfg.Name, Dir: l.cfg.Dir, Base: l.base, Net: l.plan,
		Up: time.Now().UTC().Format(time.RFC3339), Taken: took}
	if l.vm.Image != "" {
		s.VM = &l.vm
	}
	data, _ := json.MarshalIndent(s, "", "  ")
	return writeFile(statePath(l.cfg.Dir), append(data, '\n'), 0o644)
}

// Open finds the lab whose dir is dir, from its state file.
func Open(dir string) (*Lab, error) {
	data, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, fmt.Errorf("open lab %s: %w", dir, err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("open lab %s: %w", statePath(dir), err)
	}
	vms := 0
	for _, h := range s.Net.Hosts {
		if h.VM {
			vms++
		}
	}
	c, err := Config{Name: s.Name, Dir: s.Dir, Hosts: len(s.Net.Hosts) - vms, VMNodes: vms}.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open lab %s: %w", dir, err)
	}
	l := &Lab{cfg: c, plan: s.Net, base: s.Base}
	if s.VM != nil {
		l.vm = *s.VM
		l.cfg.VMCPUs, l.cfg.VMMemory = s.VM.CPUs, s.VM.Memory
	}
	if k, err := os.ReadFile(l.KeyFile()); err == nil {
		l.key, _ = ssh.ParsePrivateKey(k)
	}
	return l, nil
}

// boot makes the bridge, mounts and fills every host's root, starts them
// all, and waits until each sshd answers.
func (l *Lab) boot(ctx context.Context) error {
	if err := bridgeUp(ctx, l.plan); err != nil {
		return err
	}
	if err := l.eachHost(func(h Host) error {
		if h.VM {
			os.Remove(l.consoleLog(h))
			if err := l.vmPrepare(ctx, h); err != nil {
				return err
			}
			return l.powerOn(ctx, h)
		}
		if err := removeTree(l.hostDir(h)); err != nil {
			return err
		}
		os.Remove(l.consoleLog(h)) // a fresh log per Up
		root, err := l.mountHost(h)
		if err != nil {
			return err
		}
		if err := l.writeHostFiles(root, h); err != nil {
			return err
		}
		return l.powerOn(ctx, h)
	}); err != nil {
		return err
	}
	return l.waitSSH(ctx, l.plan.Hosts)
}

// powerOn gives a host a fresh namespace, mounts its root and boots it.
func (l *Lab) powerOn(ctx context.Context, h Host) error {
	if h.VM {
		return l.vmPowerOn(ctx, h)
	}
	if _, err := l.mountHost(h); err != nil {
		return err
	}
	if err := hostNetUp(ctx, l.plan, h); err != nil {
		return err
	}
	return l.launch(h)
}

// eachHost runs f for every host, a few at a time, and joins the errors.
func (l *Lab) eachHost(f func(Host) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(l.plan.Hosts))
	sem := make(chan struct{}, 8)
	for i, h := range l.plan.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = f(h)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// joinErrs joins the non-nil errors under one operation name, or gives nil.
func joinErrs(op string, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// anyRunning says whether any host of the lab has a live nspawn or launcher.
func (l *Lab) anyRunning() bool {
	for _, h := range l.plan.Hosts {
		if l.mainPid(h) > 0 || l.launcherPid(h) > 0 {
			return true
		}
	}
	return false
}
