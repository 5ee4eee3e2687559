// Package faults breaks things on purpose while kplay runs: sshd restarted,
// stopped or frozen under a run, commands that never end, a full disk,
// kplay itself killed or interrupted, hosts of a lab powered off or cut
// from the network; and a soak of many runs with faults injected. Every
// test checks the same four things: the faulty host is reported once, as
// unreachable or failed, with a clear reason and within a bounded time;
// the other hosts finish; no file on any host is partial (each is its old
// or its new version, no .kplay-*.tmp is left); and the journal holds
// every change that happened (its file changes are exactly the files that
// differ on the hosts).
//
// The tests are slow and need root (real sshd, mounts, labs): they run only
// with KPLAY_FAULTS=1 or KPLAY_E2E=1 (make faults); the soak needs
// KPLAY_SOAK=1 (make soak). Each fault test prints one line starting with
// "RELIABILITY |" that docs/reliability.md's table is copied from.
package faults
