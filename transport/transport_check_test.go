package transport

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	for _, tc := range []struct {
		name, cmd string
		bad       bool
	}{
		{"plain", "echo hi", false},
		{"at the limit", strings.Repeat("x", MaxCommand), false},
		{"over the limit", strings.Repeat("x", MaxCommand+1), true},
		{"nul", "printf 'a\x00b'", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCommand(tc.cmd)
			if (err != nil) != tc.bad {
				t.Fatalf("CheckCommand = %v, want bad=%v", err, tc.bad)
			}
			if err != nil && errors.Is(err, ErrUnreachable) {
				t.Errorf("%v: a host is not unreachable for a bad command", err)
			}
			if err == nil {
				return
			}
			lerr := (&Local{}).Exec(t.Context(), tc.cmd, nil, nil, nil)
			if lerr == nil || lerr.Error() != err.Error() {
				t.Errorf("Local.Exec = %v, want %v", lerr, err)
			}
		})
	}
}
