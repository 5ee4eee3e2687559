package transport

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys checks server keys against the known_hosts files of Options.
type hostKeys struct {
	opts *Options
}

func (h *hostKeys) files() []string {
	if len(h.opts.KnownHosts) > 0 {
		return h.opts.KnownHosts
	}
	return []string{homePath(".ssh", "known_hosts")}
}

// db reads the known_hosts files that exist (a missing file is empty).
func (h *hostKeys) db() (ssh.HostKeyCallback, error) {
	var existing []string
	for _, f := range h.files() {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("read known hosts: %w", err)
	}
	return cb, nil
}

// callback returns the HostKeyCallback for a connection to addr, the host
// key algorithms to ask for (those of the keys already known, so that the
// server does not present another type of key that would look "changed"),
// and a function that reports the precise verification error, if any.
func (h *hostKeys) callback(addr string) (ssh.HostKeyCallback, []string, func() error) {
	var mu sync.Mutex
	var failure error
	report := func() error { mu.Lock(); defer mu.Unlock(); return failure }
	if h.opts.HostKeyMode == HostKeyInsecure {
		return ssh.InsecureIgnoreHostKey(), nil, report
	}
	db, err := h.db()
	if err != nil {
		failure = hostKeyError{err}
		return func(string, net.Addr, ssh.PublicKey) error { return report() }, nil, report
	}
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := h.check(db, hostname, remote, key)
		mu.Lock()
		defer mu.Unlock()
		failure = err
		return err
	}
	return cb, knownAlgorithms(db, addr), report
}

func (h *hostKeys) check(db ssh.HostKeyCallback, hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := db(hostname, remote, key)
	var ke *knownhosts.KeyError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ke) && len(ke.Want) > 0:
		return changedKeyError(hostname, ke, key)
	case errors.As(err, &ke) && h.opts.HostKeyMode == HostKeyAcceptNew:
		return h.record(hostname, remote, key)
	case errors.As(err, &ke):
		return hostKeyError{fmt.Errorf("unknown host key for %s (%s %s); add it to %s or accept new keys explicitly",
			knownhosts.Normalize(hostname), key.Type(), ssh.FingerprintSHA256(key), h.files()[0])}
	default:
		return hostKeyError{fmt.Errorf("check host key of %s: %w", hostname, err)}
	}
}

func changedKeyError(hostname string, ke *knownhosts.KeyError, key ssh.PublicKey) error {
	var old []string
	for _, w := range ke.Want {
		old = append(old, fmt.Sprintf("%s %s (%s:%d)", w.Key.Type(), ssh.FingerprintSHA256(w.Key), w.Filename, w.Line))
	}
	return hostKeyError{fmt.Errorf("host key for %s CHANGED: known %s, offered %s %s; if the host was reinstalled, remove the old line",
		knownhosts.Normalize(hostname), strings.Join(old, ", "), key.Type(), ssh.FingerprintSHA256(key))}
}

// record appends a first-seen key to the first known_hosts file under an
// exclusive flock, after reading the file again inside the lock: parallel
// connections (and other kplay processes) neither interleave lines nor
// record two different keys for one host.
func (h *hostKeys) record(hostname string, remote net.Addr, key ssh.PublicKey) error {
	file := h.files()[0]
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return hostKeyError{fmt.Errorf("record host key: %w", err)}
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return hostKeyError{fmt.Errorf("record host key: %w", err)}
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return hostKeyError{fmt.Errorf("lock %s: %w", file, err)}
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	db, err := h.db()
	if err != nil {
		return hostKeyError{err}
	}
	err = db(hostname, remote, key)
	var ke *knownhosts.KeyError
	if err == nil {
		return nil // another connection recorded the same key meanwhile
	}
	if !errors.As(err, &ke) {
		return hostKeyError{fmt.Errorf("check host key of %s: %w", hostname, err)}
	}
	if len(ke.Want) > 0 {
		return changedKeyError(hostname, ke, key)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
	if st, err := f.Stat(); err == nil && st.Size() > 0 && !endsWithNewline(f, st.Size()) {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return hostKeyError{fmt.Errorf("record host key in %s: %w", file, err)}
	}
	return nil
}

func endsWithNewline(f *os.File, size int64) bool {
	b := make([]byte, 1)
	_, err := f.ReadAt(b, size-1)
	return err == nil && b[0] == '\n'
}

// knownAlgorithms lists the host key algorithms of the keys known for addr
// (nil when none: then any algorithm may be offered). It asks the database
// with a throw-away key, which never matches, to read the known ones.
func knownAlgorithms(db ssh.HostKeyCallback, addr string) []string {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	if !errors.As(db(addr, remote, probe.PublicKey()), &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		t := w.Key.Type()
		if seen[t] {
			continue
		}
		seen[t] = true
		if t == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		}
		algos = append(algos, t)
	}
	return algos
}

// hostKeyError joins ErrHostKey to a verification failure.
type hostKeyError struct{ err error }

func (e hostKeyError) Error() string   { return e.err.Error() }
func (e hostKeyError) Unwrap() []error { return []error{ErrHostKey, e.err} }
