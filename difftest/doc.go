// Package difftest holds the differential test suite: each case in
// testdata/ is run by ansible-playbook and by kplay on two identical
// temporary trees, and the exit codes and resulting trees must match.
// It proves, rather than claims, that kplay follows Ansible's semantics
// where docs/differential.md says it does. The package has no API; the
// tests skip when ansible-playbook is not installed.
package difftest
