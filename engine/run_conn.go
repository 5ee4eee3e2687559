package engine

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kplay/kplay/inventory"
	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/transport"
)

// connCache holds one base connection per host for the whole run: the SSH
// pool is shared, and a host's connection is opened once and reused by
// every task (become and environment are thin wrappers around it).
type connCache struct {
	r     *runner
	mu    sync.Mutex
	conns map[string]transport.Conn
	pool  *transport.Pool
}

func newConnCache(r *runner) *connCache {
	return &connCache{r: r, conns: map[string]transport.Conn{}}
}

// base returns the connection of host name, whose connection settings are
// read from vars (already rendered, so ansible_host may be a template).
func (c *connCache) base(name string, cn inventory.Connection) (transport.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[name]; ok {
		return conn, nil
	}
	conn, err := c.open(name, cn)
	if err != nil {
		return nil, err
	}
	c.conns[name] = conn
	return conn, nil
}

func (c *connCache) open(name string, cn inventory.Connection) (transport.Conn, error) {
	if c.r.opts.Connect != nil {
		return c.r.opts.Connect(c.r.lookupHost(name))
	}
	switch cn.Type {
	case "local":
		return &transport.Local{}, nil
	case "ssh", "":
		if c.pool == nil {
			c.pool = transport.NewPool(c.r.opts.SSH)
		}
		cfg := transport.Config{Name: name, Address: cn.Address, Port: cn.Port, User: cn.User, Password: cn.Password}
		if cn.KeyFile != "" {
			cfg.KeyFiles = []string{cn.KeyFile}
		}
		return c.pool.Get(cfg), nil
	}
	return nil, fmt.Errorf("connect %s: unsupported connection type %q", name, cn.Type)
}

// close ends the engine's SSH pool at the end of the run. Connections
// returned by Options.Connect belong to the caller, who closes them.
func (c *connCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pool != nil {
		_ = c.pool.Close()
	}
}

// connVarsOf renders the connection variables of a scope, so that
// inventory.ConnectionOf sees final values.
func connVarsOf(s *scope) map[string]any {
	out := map[string]any{}
	keys := make([]string, 0, len(s.out)+len(s.templ))
	for k := range s.out {
		keys = append(keys, k)
	}
	for k := range s.templ {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "ansible_") || strings.HasPrefix(k, "kplay_") {
			if v, ok, err := s.lookup(k); err == nil && ok {
				out[k] = v
			}
		}
	}
	return out
}

// taskConn returns the connection a task uses on a host: the host's own or
// the delegate's, wrapped for become and environment.
func (tr *taskRun) taskConn(s *scope, host, delegate string) (modules.Conn, error) {
	target := host
	vars := connVarsOf(s)
	if delegate != "" && delegate != host {
		target = delegate
		ds := tr.p.scope(tr.p.r.hostState(delegate), nil, nil, nil)
		vars = connVarsOf(ds)
	}
	cn, err := inventory.ConnectionOf(target, vars)
	if err != nil {
		return nil, err
	}
	conn, err := tr.p.r.conns.base(target, cn)
	if err != nil {
		return nil, err
	}
	if b, ok := tr.become(cn); ok {
		conn = transport.WithBecome(conn, b)
	}
	env, err := tr.environment(s)
	if err != nil {
		return nil, err
	}
	return transport.WithEnv(conn, env), nil
}

// become resolves become from the inventory, the play, enclosing blocks and
// the task, the innermost setting winning.
func (tr *taskRun) become(cn inventory.Connection) (transport.Become, bool) {
	on, b := cn.Become, transport.Become{Method: cn.BecomeMethod, User: cn.BecomeUser, Password: cn.BecomePassword}
	apply := func(flag *bool, user, method string) {
		if flag != nil {
			on = *flag
		}
		if user != "" {
			b.User = user
		}
		if method != "" {
			b.Method = method
		}
	}
	apply(tr.p.play.Become, tr.p.play.BecomeUser, tr.p.play.BecomeMethod)
	for _, blk := range tr.f.blocks {
		apply(blk.Become, blk.BecomeUser, blk.BecomeMethod)
	}
	apply(tr.t.Become, tr.t.BecomeUser, tr.t.BecomeMethod)
	if b.Password == "" {
		b.Password = tr.p.r.opts.BecomePassword
	}
	return b, on
}

// environment merges play, block and task environment, rendered.
func (tr *taskRun) environment(s *scope) (map[string]string, error) {
	merged := map[string]any{}
	for k, v := range tr.p.play.Environment {
		merged[k] = v
	}
	for _, blk := range tr.f.blocks {
		for k, v := range blk.Environment {
			merged[k] = v
		}
	}
	for k, v := range tr.t.Environment {
		merged[k] = v
	}
	if len(merged) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make(map[string]string, len(merged))
	for _, k := range keys {
		v, err := s.render(merged[k])
		if err != nil {
			return nil, fmt.Errorf("environment %s: %w", k, err)
		}
		if str, ok := v.(string); ok && str == omitValue {
			continue
		}
		s, err := modules.ToString(v)
		if err != nil {
			return nil, fmt.Errorf("environment %s: %w", k, err)
		}
		env[k] = s
	}
	return env, nil
}
