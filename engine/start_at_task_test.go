package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestStartAtTaskNotFound(t *testing.T) {
	t.Parallel()
	site := "- hosts: all\n  tasks:\n    - {name: first, debug: {msg: x}}\n    - {name: second, debug: {msg: x}}\n"
	tests := []struct {
		start   string
		wantErr bool
	}{
		{"", false},
		{"second", false},
		{"sec*", false},
		{"nosuch", true},
	}
	for _, tc := range tests {
		t.Run(tc.start, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "", map[string]string{"site.yaml": site})
			f.opts.StartAtTask = tc.start
			rep, err := Run(t.Context(), f.opts)
			var oe *OptionsError
			if !tc.wantErr {
				if err != nil || rep == nil {
					t.Fatalf("run: %v", err)
				}
				return
			}
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), `--start-at-task "nosuch": no matching task found`) {
				t.Fatalf("err = %v, want an *OptionsError: no matching task found", err)
			}
			if f.rec.count(EventWarning) != 1 {
				t.Errorf("warnings = %d, want 1", f.rec.count(EventWarning))
			}
			if got := f.rec.count(EventHostResult); got != 3 { // only the facts of h1..h3
				t.Errorf("host results = %d, want 3 (Gathering Facts only)", got)
			}
		})
	}
}
