package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kplay/kplay/lab/labtest"
)

// TestE2ESiteColocatedLB runs site.yaml on a 3-host lab, whose lb group
// (h1, h2) are also the masters: the LB listens on 16443 (6443 is the
// apiservers'), exactly one of h1, h2 holds the VIP, etcd answers through
// vip:16443, and a second run changes nothing.
func TestE2ESiteColocatedLB(t *testing.T) {
	labtest.Skip(t)
	bin := labtest.BuildKplay(t)
	l := labtest.Start(t, 3)
	work := t.TempDir()
	vip := vipOf(l)
	args := []string{"-i", l.Inventory(), "site.yaml", "-e", "vip=" + vip,
		"-e", "pki_local_dir=" + filepath.Join(work, "pki"), "-e", "lb_backend_port=2379", "--skip-tags", "master,node,addons"}
	first := kplay(t, bin, work, args...)
	first.MustSucceed(t, "site.yaml")
	t.Logf("site.yaml on 3 hosts: %v", first.Took.Round(time.Millisecond))
	if holders := vipHolders(t, l, vip, "h1", "h2", "h3"); len(holders) != 1 || holders[0] == "h3" {
		t.Fatalf("VIP %s held by %q, want exactly one of h1, h2", vip, holders)
	}
	for _, h := range []string{"h1", "h2"} {
		if out := mustSSH(t, l, h, "ss -Hltn 'sport = :16443'"); !strings.Contains(out, ":16443") {
			t.Errorf("%s: nothing listens on 16443: %q", h, out)
		}
		if out := mustSSH(t, l, h, "ss -Hltn 'sport = :6443'"); strings.TrimSpace(out) != "" {
			t.Errorf("%s: 6443 (the apiserver's port) is taken: %q", h, out)
		}
	}
	if out := mustSSH(t, l, "h3", curlEtcdHealth(vip, "16443")); !strings.Contains(out, `"health":"true"`) {
		t.Errorf("etcd /health through vip:16443: %s", out)
	}
	second := kplay(t, bin, work, args...)
	second.MustSucceed(t, "site.yaml again")
	for h, c := range second.Recap() {
		if c["changed"] != 0 {
			t.Errorf("second run: %s changed=%d: %q", h, c["changed"], second.Changed())
		}
	}
}
