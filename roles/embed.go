// Package roles holds the roles shipped inside the kplay binary.
package roles

import "embed"

// FS holds every shipped role, one folder per role (FS paths look like
// "etcd/tasks/main.yaml"); engine.LoadOptions.RolesFS takes it.
//
//go:embed all:*
var FS embed.FS
