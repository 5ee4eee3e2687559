package transport

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kplay/kplay/internal/sshtest"
)

// TestMaxConnecting: with a limit of 2 connections set up at once, 12
// hosts (one in-process server under 12 names) all connect and run, none
// waiting past its own connect timeout.
func TestMaxConnecting(t *testing.T) {
	srv := sshtest.NewServer(t, "")
	p := NewPool(Options{KnownHosts: []string{srv.KnownHosts}, MaxConnecting: 2, ConnectTimeout: 5 * time.Second,
		SSHConfigFile: "none", AgentSocket: "none"})
	defer p.Close()
	if cap(p.connecting) != 2 {
		t.Fatalf("connecting capacity %d, want 2", cap(p.connecting))
	}
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := p.Get(Config{Name: srv.Name + string(rune('a'+i)), Address: srv.Addr, Port: srv.Port, User: srv.User, KeyFiles: []string{srv.KeyFile}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errs[i] = c.Exec(ctx, "true", nil, nil, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("host %d: %v", i, err)
		}
	}
	if len(p.connecting) != 0 {
		t.Errorf("%d turns still held after every dial", len(p.connecting))
	}
}
