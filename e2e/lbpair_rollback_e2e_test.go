package e2e

import (
	"strings"
	"testing"

	"github.com/kplay/kplay/lab"
)

// checkLBRollback: an nginx setting change reloads kplay-lb on the lb pair;
// kplay rollback puts the previous nginx.conf back and the lb-pair role's
// rollback tasks validate it and reload kplay-lb one lb host at a time,
// each gated on its VRRP state and the LB listening, then on exactly one
// VIP holder: the rollback succeeds, etcd still answers through the VIP,
// and the next site.yaml run finds the LB on its config (its drift check
// reads the stamp the rollback tasks renew) and changes nothing.
func checkLBRollback(t *testing.T, l *lab.Lab, bin, work, vip string, args []string) {
	r := kplay(t, bin, work, append(args, "-e", "lb_proxy_timeout=11m")...)
	r.MustSucceed(t, "site.yaml with lb_proxy_timeout=11m")
	if conf := mustSSH(t, l, "h4", "grep proxy_timeout /etc/kplay/lb/nginx.conf"); !strings.Contains(conf, "11m") {
		t.Fatalf("h4 nginx.conf after the change: %q", conf)
	}
	out, code := kplayText(t, bin, work, "rollback", "-i", l.Inventory())
	t.Logf("kplay rollback:\n%s", tail(out, 2500))
	if code != 0 {
		t.Fatalf("kplay rollback: exit %d", code)
	}
	if want := "rollback tasks of role lb-pair (play lb-pair) ran on h4, h5"; !strings.Contains(out, want) {
		t.Errorf("kplay rollback did not say %q", want)
	}
	for _, h := range []string{"h4", "h5"} {
		if conf := mustSSH(t, l, h, "grep proxy_timeout /etc/kplay/lb/nginx.conf"); !strings.Contains(conf, "10m") {
			t.Errorf("%s nginx.conf after rollback: %q", h, conf)
		}
	}
	if holders := vipHolders(t, l, vip, "h4", "h5"); len(holders) != 1 {
		t.Errorf("after rollback: VIP held by %q, want exactly one of h4, h5", holders)
	}
	if out := mustSSH(t, l, "h1", curlEtcdHealth(vip, "6443")); !strings.Contains(out, `"health":"true"`) {
		t.Errorf("etcd /health through the VIP after rollback: %s", out)
	}
	again := kplay(t, bin, work, args...)
	again.MustSucceed(t, "site.yaml after kplay rollback")
	for h, c := range again.Recap() {
		if c["changed"] != 0 {
			t.Errorf("after the lb rollback, site.yaml: %s changed=%d: %q", h, c["changed"], again.Changed())
		}
	}
}
