package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procTree maps a pid to its children, read from /proc once (scanning
// /proc per sshd would cost seconds with 500 hosts).
type procTree map[int][]int

func processTree() procTree {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	t := procTree{}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, err1 := strconv.Atoi(fields[1])
		pid, err2 := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if err1 == nil && err2 == nil {
			t[ppid] = append(t[ppid], pid)
		}
	}
	return t
}

// descendants lists every process below pid, children before their own.
func (t procTree) descendants(pid int) []int {
	var out []int
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		kids := t[queue[0]]
		out = append(out, kids...)
		queue = append(queue, kids...)
	}
	return out
}
