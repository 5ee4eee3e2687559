package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Tool names, in the order tables and plots show them.
const (
	toolKplay     = "kplay"
	toolAnsible   = "ansible"
	toolAnsiblePL = "ansible-pipelined"
	toolFloor     = "floor"
	// toolFloorLinear is the floor with all hosts in step after each task,
	// as kplay's and Ansible's linear strategy keeps them.
	toolFloorLinear = "floor-linear"
)

// Cases of a measured run.
const (
	caseFirst = "first" // clean state: every host changes
	caseRerun = "rerun" // converged state: nothing changes
	caseCheck = "check" // --check on the converged state: nothing would change
)

// sample is one measured run of one tool.
type sample struct {
	Tool   string        `json:"tool"`
	N      int           `json:"n"`
	Case   string        `json:"case"`
	Run    int           `json:"run"`
	Wall   time.Duration `json:"wall_ns"`
	User   time.Duration `json:"user_ns"`   // CPU of the tool process and its waited children
	Sys    time.Duration `json:"sys_ns"`    //
	MaxRSS int64         `json:"maxrss_kb"` // peak RSS of the tool process (wait4), KB
	// Sessions is the number of SSH sessions the floor opened (all hosts).
	Sessions int64 `json:"sessions,omitempty"`
	// Cut marks a run ended by -ansible-cut: Wall is a lower bound.
	Cut bool `json:"cut,omitempty"`
}

// env is what every tool run needs.
type env struct {
	fleet   *fleet
	work    string // inventory, ansible config, control sockets, logs
	play    string // site.yml
	kplay   string // kplay binary
	timeout time.Duration
	// ansibleCut, when set, ends an Ansible run after this long and keeps
	// it as a lower bound (sample.Cut) instead of failing the benchmark:
	// on a loaded machine Ansible at N=200 can take longer than anyone waits.
	ansibleCut time.Duration
	kplayArgs  []string // more kplay flags
}

// writeInventory writes the YAML inventory of the first n hosts, read by
// both kplay and ansible-playbook.
func (e *env) writeInventory(n int) (string, error) {
	var b strings.Builder
	b.WriteString("all:\n  vars:\n    ansible_user: root\n")
	fmt.Fprintf(&b, "    ansible_port: %d\n  hosts:\n", e.fleet.port)
	for _, h := range e.fleet.hosts[:n] {
		fmt.Fprintf(&b, "    %s: {ansible_host: %s}\n", h.Name, h.Addr)
	}
	path := filepath.Join(e.work, fmt.Sprintf("hosts-%d.yaml", n))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("write inventory: %w", err)
	}
	return path, nil
}

// toolCommand builds the command line of tool for n hosts and case c.
func (e *env) toolCommand(tool string, n int, c string) (*exec.Cmd, error) {
	inv, err := e.writeInventory(n)
	if err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	switch tool {
	case toolKplay:
		cmd = exec.Command(e.kplay, "-i", inv, e.play, "-f", strconv.Itoa(n), "--no-color",
			"--known-hosts", e.fleet.knownHosts, "--private-key", e.fleet.keyFile,
			"--ssh-config", "none", "-e", "tpl=app.conf.tmpl")
		cmd.Args = append(cmd.Args, e.kplayArgs...)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
	case toolAnsible, toolAnsiblePL:
		cmd = exec.Command("ansible-playbook", "-i", inv, e.play, "-f", strconv.Itoa(n),
			"-e", "tpl=app.conf.j2")
		cmd.Env = e.ansibleEnv(tool == toolAnsiblePL)
	default:
		return nil, fmt.Errorf("unknown tool %q", tool)
	}
	if c == caseCheck {
		cmd.Args = append(cmd.Args, "--check")
	}
	cmd.Dir = e.work
	return cmd, nil
}

// ansibleEnv configures ansible-playbook through its environment only:
// stock ssh_args (ControlMaster=auto, ControlPersist=60s), control sockets
// in the bench's own folder (so they can be closed before every run), the
// bench's key and known_hosts with strict checking, and the interpreter
// given (no discovery round trip, a favour to Ansible).
func (e *env) ansibleEnv(pipelining bool) []string {
	cfg := filepath.Join(e.work, "ansible.cfg")
	_ = os.WriteFile(cfg, []byte("[defaults]\n"), 0o644)
	env := append(os.Environ(),
		"ANSIBLE_CONFIG="+cfg,
		"ANSIBLE_HOST_KEY_CHECKING=True",
		"ANSIBLE_PRIVATE_KEY_FILE="+e.fleet.keyFile,
		"ANSIBLE_SSH_EXTRA_ARGS=-o UserKnownHostsFile="+e.fleet.knownHosts+" -o StrictHostKeyChecking=yes -F /dev/null",
		"ANSIBLE_SSH_CONTROL_PATH_DIR="+e.controlDir(),
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(e.work, "ansible-tmp"),
		"ANSIBLE_RETRY_FILES_ENABLED=False",
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_TIMEOUT=60",
	)
	if pipelining {
		env = append(env, "ANSIBLE_PIPELINING=True")
	}
	return env
}

func (e *env) controlDir() string { return filepath.Join(e.work, "cp") }

// closeControlMasters ends every ssh ControlMaster Ansible left running
// (ControlPersist), so that each measured run pays for its connections.
func (e *env) closeControlMasters() {
	socks, _ := filepath.Glob(filepath.Join(e.controlDir(), "*"))
	for _, s := range socks {
		cmd := exec.Command("ssh", "-o", "ControlPath="+s, "-O", "exit", "bench-control-master")
		_ = cmd.Run()
		_ = os.Remove(s)
	}
}

// runTool runs one measured run of a command-line tool and checks its
// recap against the case; a wrong run is an error.
func (e *env) runTool(ctx context.Context, tool string, n int, c string, run int) (sample, error) {
	if tool != toolKplay {
		e.closeControlMasters()
	}
	cmd, err := e.toolCommand(tool, n, c)
	if err != nil {
		return sample{}, err
	}
	logPath := filepath.Join(e.work, "logs", fmt.Sprintf("%s-n%d-%s-%d.log", tool, n, c, run))
	out, err := os.Create(logPath)
	if err != nil {
		return sample{}, fmt.Errorf("create log: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	limit := e.timeout
	if isAnsible(tool) && e.ansibleCut > 0 {
		limit = e.ansibleCut
	}
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, fmt.Errorf("start %s: %w", tool, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var runErr error
	select {
	case runErr = <-waited:
	case <-runCtx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the tool's own process group
		<-waited
		if ctx.Err() == nil && isAnsible(tool) && e.ansibleCut > 0 {
			return sample{Tool: tool, N: n, Case: c, Run: run, Wall: time.Since(start), Cut: true}, nil
		}
		return sample{}, fmt.Errorf("%s n=%d %s: %w (log %s)", tool, n, c, runCtx.Err(), logPath)
	}
	s := sample{Tool: tool, N: n, Case: c, Run: run, Wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.User = time.Duration(ru.Utime.Nano())
		s.Sys = time.Duration(ru.Stime.Nano())
		s.MaxRSS = ru.Maxrss
	}
	log, _ := os.ReadFile(logPath)
	if err := verifyRecap(string(log), n, c); err != nil {
		return s, fmt.Errorf("%s n=%d %s run %d: %w (exit: %v; log %s)", tool, n, c, run, err, runErr, logPath)
	}
	if runErr != nil {
		return s, fmt.Errorf("%s n=%d %s run %d: %w (log %s)", tool, n, c, run, runErr, logPath)
	}
	return s, nil
}

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)`)

// verifyRecap checks the PLAY RECAP (the same format in both tools): one
// line per host, no failure, no unreachable host, and changes on every
// host in the first run, none in the others.
func verifyRecap(log string, n int, c string) error {
	i := strings.LastIndex(log, "PLAY RECAP")
	if i < 0 {
		return fmt.Errorf("no PLAY RECAP in the output")
	}
	lines := recapLine.FindAllStringSubmatch(log[i:], -1)
	if len(lines) != n {
		return fmt.Errorf("recap lists %d hosts, want %d", len(lines), n)
	}
	for _, m := range lines {
		changed, _ := strconv.Atoi(m[3])
		if m[4] != "0" || m[5] != "0" {
			return fmt.Errorf("host %s: unreachable=%s failed=%s", m[1], m[4], m[5])
		}
		if c == caseFirst && changed == 0 {
			return fmt.Errorf("host %s: first run changed nothing", m[1])
		}
		if c != caseFirst && changed != 0 {
			return fmt.Errorf("host %s: %s run changed=%d, want 0", m[1], c, changed)
		}
	}
	return nil
}
