package sshtest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
)

func (s *Server) handleConn(nc net.Conn) {
	defer nc.Close()
	conn, chans, reqs, err := ssh.NewServerConn(nc, s.cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go func() {
		for r := range reqs {
			// keepalive@openssh.com and anything else: refuse, as sshd does.
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()
	var wg sync.WaitGroup
	for nch := range chans {
		switch nch.ChannelType() {
		case "session":
			ch, creqs, err := nch.Accept()
			if err != nil {
				continue
			}
			wg.Add(1)
			s.enter()
			go func() { defer wg.Done(); handleSession(ch, creqs, s.leave) }()
		case "direct-tcpip":
			wg.Add(1)
			go func() { defer wg.Done(); forward(nch) }()
		default:
			_ = nch.Reject(ssh.UnknownChannelType, "unsupported")
		}
	}
	wg.Wait()
}

// session is one exec request's process.
type session struct {
	mu  sync.Mutex
	cmd *exec.Cmd
}

// handleSession serves one session channel; leave runs before the channel
// closes, so a client never sees more sessions than it holds open.
func handleSession(ch ssh.Channel, reqs <-chan *ssh.Request, leave func()) {
	defer ch.Close()
	defer leave()
	s := &session{}
	done := make(chan struct{})
	for {
		select {
		case r, ok := <-reqs:
			if !ok {
				// Like sshd without a pty: the command is left running.
				return
			}
			s.request(ch, r, done)
		case <-done:
			return
		}
	}
}

func (s *session) request(ch ssh.Channel, r *ssh.Request, done chan struct{}) {
	switch r.Type {
	case "exec":
		var p struct{ Command string }
		if ssh.Unmarshal(r.Payload, &p) != nil || s.started() {
			_ = r.Reply(false, nil)
			return
		}
		_ = r.Reply(true, nil)
		s.start(ch, p.Command, done)
	case "signal":
		var p struct{ Signal string }
		if ssh.Unmarshal(r.Payload, &p) == nil {
			if sig, ok := signals[p.Signal]; ok {
				s.signal(sig)
			}
		}
	default:
		if r.WantReply {
			_ = r.Reply(r.Type == "env", nil)
		}
	}
}

var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL,
	"TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

func (s *session) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// start runs command with sh -c as a process group leader (as sshd's
// setsid does) and reports its end on the channel.
func (s *session) start(ch ssh.Channel, command string, done chan struct{}) {
	c := exec.Command("sh", "-c", command)
	c.Stdout = ch
	c.Stderr = ch.Stderr()
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := c.StdinPipe()
	if err == nil {
		err = c.Start()
	}
	if err != nil {
		_, _ = io.WriteString(ch.Stderr(), err.Error()+"\n")
		sendExit(ch, 127)
		close(done)
		return
	}
	s.mu.Lock()
	s.cmd = c
	s.mu.Unlock()
	go func() {
		_, _ = io.Copy(in, ch)
		in.Close()
	}()
	go func() {
		err := c.Wait()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			ws, _ := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				sendSignal(ch, ws.Signal())
				close(done)
				return
			}
			code = ee.ExitCode()
		}
		sendExit(ch, code)
		close(done)
	}()
}

func (s *session) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	}
}

func sendExit(ch ssh.Channel, code int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	_, _ = ch.SendRequest("exit-status", false, b[:])
}

func sendSignal(ch ssh.Channel, sig syscall.Signal) {
	name := "TERM"
	for n, s := range signals {
		if s == sig {
			name = n
		}
	}
	_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}{Signal: name}))
}

// forward serves a direct-tcpip channel (a client's ProxyJump hop).
func forward(nch ssh.NewChannel) {
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if ssh.Unmarshal(nch.ExtraData(), &p) != nil {
		_ = nch.Reject(ssh.ConnectionFailed, "bad request")
		return
	}
	nc, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
	if err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	defer nc.Close()
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	go ssh.DiscardRequests(reqs)
	go func() { _, _ = io.Copy(nc, ch); nc.(*net.TCPConn).CloseWrite() }()
	_, _ = io.Copy(ch, nc)
}
