package main

import (
	"strings"
	"testing"
	"time"
)

func TestHostAddr(t *testing.T) {
	for _, tc := range []struct {
		i    int
		want string
	}{{0, "127.0.10.1"}, {249, "127.0.10.250"}, {250, "127.0.11.1"}, {499, "127.0.11.250"}} {
		if got := hostAddr(tc.i); got != tc.want {
			t.Errorf("hostAddr(%d) = %s, want %s", tc.i, got, tc.want)
		}
	}
}

func TestVerifyRecap(t *testing.T) {
	recap := func(lines ...string) string {
		return "TASK [x] ***\nok: [h001]\n\nPLAY RECAP ****\n" + strings.Join(lines, "\n") + "\n"
	}
	changed := "h001 : ok=18 changed=12 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
	clean := "h002                       : ok=18   changed=0    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0"
	for _, tc := range []struct {
		name, log, c string
		n            int
		wantErr      string
	}{
		{"first ok", recap(changed), caseFirst, 1, ""},
		{"first without change", recap(clean), caseFirst, 1, "changed nothing"},
		{"rerun ok", recap(clean), caseRerun, 1, ""},
		{"rerun with change", recap(changed), caseRerun, 1, "changed=12"},
		{"missing host", recap(clean), caseCheck, 2, "lists 1 hosts, want 2"},
		{"failed host", recap(strings.Replace(clean, "failed=0", "failed=1", 1)), caseRerun, 1, "failed=1"},
		{"unreachable", recap(strings.Replace(clean, "unreachable=0", "unreachable=1", 1)), caseRerun, 1, "unreachable=1"},
		{"no recap", "ERROR! something", caseFirst, 1, "no PLAY RECAP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyRecap(tc.log, tc.n, tc.c)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSummarizeMinMedian(t *testing.T) {
	var samples []sample
	for i, w := range []int{300, 100, 200} {
		samples = append(samples, sample{Tool: toolKplay, N: 10, Case: caseFirst, Run: i + 1,
			Wall: time.Duration(w) * time.Millisecond, MaxRSS: int64(1000 * (i + 1))})
	}
	st := summarize(samples)
	if len(st) != 1 {
		t.Fatalf("got %d groups, want 1", len(st))
	}
	s := st[0]
	if s.Min != 100*time.Millisecond || s.Median != 200*time.Millisecond || s.MaxRSS != 3000 || s.Runs != 3 {
		t.Fatalf("got %+v", s)
	}
}

// TestBarrier: no party passes before all have arrived, and a party that
// leaves releases the others.
func TestBarrier(t *testing.T) {
	const n = 4
	b := newBarrier(n)
	passed := make(chan int, n)
	for i := range n - 1 {
		go func() { b.wait(); passed <- i }()
	}
	select {
	case <-passed:
		t.Fatal("a party passed before all arrived")
	case <-time.After(50 * time.Millisecond):
	}
	b.leave() // the fourth party gives up
	for range n - 1 {
		select {
		case <-passed:
		case <-time.After(5 * time.Second):
			t.Fatal("parties still held after the last one left")
		}
	}
	var nilBarrier *barrier
	nilBarrier.wait()
	nilBarrier.leave()
}
