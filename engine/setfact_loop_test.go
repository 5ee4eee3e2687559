package engine

import "testing"

// set_fact in a loop sees the facts set by the earlier items, as Ansible.
func TestSetFactLoopAccumulates(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: h1
  gather_facts: false
  tasks:
    - set_fact: {acc: "{{ (acc | default([])) + [item * 2] }}"}
      loop: [1, 2, 3]
    - copy: {content: "{{ acc | join(',') }}\n", dest: "@DIR@/acc"}
`})
	f.run(t)
	if got := f.read(t, "acc"); got != "2,4,6\n" {
		t.Errorf("acc = %q, want 2,4,6", got)
	}
}
