// Package e2e holds the end-to-end tests of the shipped roles and
// playbooks: they boot a kplay lab (real Debian hosts with systemd, see
// docs/lab.md), run the embedded site.yaml on it with a freshly built
// kplay, and check the cluster the roles built. They run only with
// KPLAY_E2E=1 (make e2e) on a machine that can run a lab, and skip
// otherwise, so `go test ./...` stays fast.
package e2e
