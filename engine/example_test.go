package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kplay/kplay/engine"
	"github.com/kplay/kplay/inventory"
)

// Example runs a two-task playbook on the implicit localhost and prints
// each host result as it arrives, then the exit code.
func Example() {
	dir, err := os.MkdirTemp("", "kplay-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	playbook := filepath.Join(dir, "site.yaml")
	err = os.WriteFile(playbook, []byte(`
- hosts: localhost
  gather_facts: false
  vars:
    greeting: hello
  tasks:
    - name: say
      command: echo {{ greeting }}
      register: said
    - name: show
      debug:
        msg: "{{ said.stdout }} from {{ inventory_hostname }}"
`), 0o644)
	if err != nil {
		fmt.Println(err)
		return
	}
	inv, err := inventory.Parse("hosts.yaml", []byte("all:\n  hosts: {}\n"), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := engine.Run(context.Background(), engine.Options{
		Inventory: inv,
		Playbooks: []string{playbook},
		Sink: engine.SinkFunc(func(e engine.Event) {
			if e.Type == engine.EventHostResult {
				fmt.Printf("%s [%s] %s\n", e.Status, e.Host, e.Task)
				if e.Module == "debug" {
					fmt.Println(e.Msg)
				}
			}
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("exit", rep.ExitCode())
	// Output:
	// changed [localhost] say
	// ok [localhost] show
	// hello from localhost
	// exit 0
}
