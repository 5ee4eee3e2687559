// Package playbooks holds the playbooks shipped inside the kplay binary.
package playbooks

import "embed"

// FS holds every shipped playbook at its root (FS paths look like
// "site.yaml"); engine.LoadOptions.PlaybooksFS takes it.
//
//go:embed all:*
var FS embed.FS
