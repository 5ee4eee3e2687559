package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/modules"
	"github.com/kplay/kplay/pki"
	"github.com/kplay/kplay/shell"
)

const certsUsage = `Usage: kplay certs check [-i INVENTORY] [-l LIMIT] [--pki-dir DIR] [SSH flags]

Shows, for every certificate, the days left before it expires: those kept
on the control machine (the pki role's folder: --pki-dir, else the
inventory's pki_local_dir, else ./.kplay/pki) and those on each host (every
*.crt under the host's pki_dir, default /etc/kubernetes/pki), hosts in
parallel. The client certificates embedded in kubeconfigs count too: every
*.conf in the PKI folder and the *.conf files next to each host's pki_dir
(/etc/kubernetes/admin.conf, kubelet.conf, ...). Exits 2 when a
certificate has expired.

Flags:
  -i, --inventory FILE   inventory (default ./hosts.yaml)
  -l, --limit PATTERN    only these hosts
      --pki-dir DIR      the control machine's PKI folder
  -h, --help             print this help
  SSH flags as for a run (--known-hosts, --private-key, ...)
`

// certRow is one certificate of one place ("control machine" or a host).
type certRow struct {
	where string
	st    pki.Status
	err   string
}

// runCerts is `kplay certs check`.
func runCerts(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var f playFlags
	var pkiDir string
	fset := newPlayFlagSet(&f)
	fset.StringVar(&pkiDir, "pki-dir", "", "")
	pos, err := parseCommand(fset, args, "certs", certsUsage, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "check" {
		return usageErrorf("certs: want `check` (see kplay certs --help)")
	}
	if err := applyConfig(&f, flagsSet(fset)); err != nil {
		return err
	}
	opts, err := f.options(nil, stderr)
	if err != nil {
		return err
	}
	if _, err := f.askPasswords(stdin, stderr, opts); err != nil {
		return err
	}
	now := time.Now()
	rows := controlCerts(pkiDirFor(pkiDir, opts), now)
	hostRows, err := hostCerts(ctx, opts, f.limit, now)
	if err != nil {
		return err
	}
	return printCerts(stdout, append(rows, hostRows...))
}

// pkiDirFor picks the control machine's PKI folder.
func pkiDirFor(flagDir string, opts *engine.Options) string {
	if flagDir != "" {
		return flagDir
	}
	for _, name := range opts.Inventory.Order {
		if h, ok := opts.Inventory.Host(name); ok {
			if d, ok := h.Vars["pki_local_dir"].(string); ok && d != "" && !strings.Contains(d, "{{") {
				return d
			}
		}
	}
	return filepath.Join(".kplay", "pki")
}

func controlCerts(dir string, now time.Time) []certRow {
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	sts, err := pki.Check(dir, now)
	if err != nil {
		return []certRow{{where: "control machine", err: err.Error()}}
	}
	rows := make([]certRow, len(sts))
	for i, st := range sts {
		st.Path = filepath.Join(dir, st.Path)
		rows[i] = certRow{where: "control machine", st: st}
	}
	return rows
}

// hostCerts reads every certificate under each host's pki_dir.
func hostCerts(ctx context.Context, opts *engine.Options, limit string, now time.Time) ([]certRow, error) {
	hosts := opts.Inventory.Order
	if limit != "" {
		sel, err := opts.Inventory.Limit(hosts, limit)
		if err != nil {
			return nil, usageErrorf("--limit: %v", err)
		}
		hosts = sel.Hosts
	}
	cs := engine.NewConnections(*opts)
	defer cs.Close()
	var mu sync.Mutex
	var rows []certRow
	var g errgroup.Group
	if opts.Forks > 0 {
		g.SetLimit(opts.Forks)
	}
	for _, h := range hosts {
		g.Go(func() error {
			r := hostCertRows(ctx, cs, opts, h, now)
			mu.Lock()
			rows = append(rows, r...)
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].where < rows[j].where })
	return rows, nil
}

func hostCertRows(ctx context.Context, cs *engine.Connections, opts *engine.Options, host string, now time.Time) []certRow {
	dir := "/etc/kubernetes/pki"
	if h, ok := opts.Inventory.Host(host); ok {
		if d, ok := h.Vars["pki_dir"].(string); ok && d != "" && !strings.Contains(d, "{{") {
			dir = d
		}
	}
	conn, err := cs.Conn(host)
	if err != nil {
		return []certRow{{where: host, err: err.Error()}}
	}
	var out bytes.Buffer
	if err := conn.Exec(ctx, listCertsCmd(dir), nil, &out, nil); err != nil {
		return []certRow{{where: host, err: err.Error()}}
	}
	var rows []certRow
	for _, path := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if path == "" {
			continue
		}
		var data bytes.Buffer
		if err := modules.ReadFile(ctx, conn, path, &data); err != nil {
			rows = append(rows, certRow{where: host, st: pki.Status{Path: path}, err: err.Error()})
			continue
		}
		inspect := pki.Inspect
		if strings.HasSuffix(path, ".conf") {
			inspect = pki.InspectKubeconfig
		}
		st, err := inspect(path, data.Bytes(), now)
		if errors.Is(err, pki.ErrNotKubeconfig) || errors.Is(err, pki.ErrNoEmbeddedCert) {
			continue
		}
		row := certRow{where: host, st: st}
		if err != nil {
			row.st.Path, row.err = path, err.Error()
		}
		rows = append(rows, row)
	}
	return rows
}

// listCertsCmd lists every *.crt under dir and the *.conf files beside it
// (the kubeconfigs in /etc/kubernetes), one path a line.
func listCertsCmd(dir string) string {
	parent := path.Dir(strings.TrimRight(dir, "/"))
	return "{ if [ -d " + shell.Quote(dir) + " ]; then find " + shell.Quote(dir) + " -name '*.crt' -type f; fi; " +
		"if [ -d " + shell.Quote(parent) + " ]; then find " + shell.Quote(parent) + " -maxdepth 1 -name '*.conf' -type f; fi; } | sort"
}

func printCerts(w io.Writer, rows []certRow) error {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no certificates found")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHERE\tFILE\tSUBJECT\tEXPIRES\tDAYS LEFT")
	expired := 0
	for _, r := range rows {
		if r.err != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\terror: %s\n", r.where, r.st.Path, r.err)
			continue
		}
		left := fmt.Sprint(r.st.DaysLeft)
		if r.st.DaysLeft < 0 {
			left, expired = "EXPIRED", expired+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.where, r.st.Path, r.st.Subject, r.st.NotAfter.Format("2006-01-02"), left)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if expired > 0 {
		return withCode(exitFailed, fmt.Errorf("%d certificates have expired", expired))
	}
	return nil
}
