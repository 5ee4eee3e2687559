package engine

import (
	"testing"
)

func TestRunBasicPlay(t *testing.T) {
	f := newFixture(t, "", map[string]string{"site.yaml": `
- hosts: all
  gather_facts: false
  tasks:
    - name: write
      shell: echo {{ inventory_hostname }} > @DIR@/{{ inventory_hostname }}.txt
      notify: bump
    - name: loop
      command: echo {{ item }}
      loop: [a, b]
      register: out
    - name: show
      debug:
        msg: "{{ out.results | map(attribute='stdout') | join(',') }}"
    - name: only web
      debug: {msg: web}
      when: "'web' in group_names"
  handlers:
    - name: bump
      shell: echo handled >> @DIR@/{{ inventory_hostname }}.txt
`})
	rep := f.run(t)
	if rep.ExitCode() != 0 {
		t.Fatalf("exit %d, events %+v", rep.ExitCode(), f.rec.events)
	}
	if got, want := f.read(t, "h2.txt"), "h2\nhandled\n"; got != want {
		t.Errorf("h2.txt = %q, want %q", got, want)
	}
	if got, want := f.rec.msgs("show"), []string{"h1=a,b", "h2=a,b", "h3=a,b"}; !equal(got, want) {
		t.Errorf("show = %v, want %v", got, want)
	}
	if got, want := f.rec.results("only web"), []string{"h1:ok", "h2:ok", "h3:skipped"}; !equal(got, want) {
		t.Errorf("only web = %v, want %v", got, want)
	}
}
