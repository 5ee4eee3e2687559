package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeResults writes the raw samples (results.json), the table
// (results.md) and the plot (wall.png) into cfg.out.
func writeResults(cfg *config, samples []sample) error {
	if len(samples) == 0 {
		return nil
	}
	b, err := json.MarshalIndent(samples, "", " ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cfg.out, "results.json"), b, 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	stats := summarize(samples)
	table := markdownTable(stats)
	fmt.Print("\n" + table)
	if err := os.WriteFile(filepath.Join(cfg.out, "results.md"), []byte(table), 0o644); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return plotWall(filepath.Join(cfg.out, "wall.png"), stats)
}

// markdownTable gives one row per tool and case, one column per N
// ("median (min)"), then ratios against kplay and the floor.
func markdownTable(stats []stat) string {
	var ns []int
	seen := map[int]bool{}
	for _, s := range stats {
		if !seen[s.N] {
			seen[s.N] = true
			ns = append(ns, s.N)
		}
	}
	sortInts(ns)
	var b strings.Builder
	b.WriteString("| case | tool |")
	for _, n := range ns {
		fmt.Fprintf(&b, " N=%d |", n)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(ns)) + "\n")
	idx := map[string]stat{}
	for _, s := range stats {
		idx[fmt.Sprintf("%s/%s/%d", s.Case, s.Tool, s.N)] = s
	}
	var rows []string
	for _, s := range stats {
		row := s.Case + "/" + s.Tool
		if len(rows) > 0 && rows[len(rows)-1] == row {
			continue
		}
		rows = append(rows, row)
		fmt.Fprintf(&b, "| %s | %s |", s.Case, s.Tool)
		for _, n := range ns {
			if x, ok := idx[fmt.Sprintf("%s/%s/%d", s.Case, s.Tool, n)]; ok {
				if x.Cut {
					fmt.Fprintf(&b, " > %.0f s (cut) |", x.Min.Seconds())
				} else {
					fmt.Fprintf(&b, " %.3f s (min %.3f) |", x.Median.Seconds(), x.Min.Seconds())
				}
			} else {
				b.WriteString(" – |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n" + ratioLines(ns, idx))
	return b.String()
}

// ratioLines: kplay against Ansible's fastest and the floor, kplay's
// overhead over the floor per task and host, kplay's CPU and peak RSS.
func ratioLines(ns []int, idx map[string]stat) string {
	var b strings.Builder
	b.WriteString("| case | N | ansible-pipelined / kplay | ansible / kplay | kplay / floor | kplay / floor-linear | kplay − floor per task·host | kplay CPU per task·host | kplay peak RSS |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range []string{caseFirst, caseRerun, caseCheck} {
		for _, n := range ns {
			k, ok := idx[fmt.Sprintf("%s/%s/%d", c, toolKplay, n)]
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "| %s | %d |", c, n)
			for _, t := range []string{toolAnsiblePL, toolAnsible} {
				if a, ok := idx[fmt.Sprintf("%s/%s/%d", c, t, n)]; ok {
					gt := ""
					if a.Cut {
						gt = "> "
					}
					fmt.Fprintf(&b, " %s%.1fx |", gt, a.Median.Seconds()/k.Median.Seconds())
				} else {
					b.WriteString(" – |")
				}
			}
			for _, t := range []string{toolFloor, toolFloorLinear} {
				if f, ok := idx[fmt.Sprintf("%s/%s/%d", c, t, n)]; ok {
					fmt.Fprintf(&b, " %.2fx |", k.Median.Seconds()/f.Median.Seconds())
				} else {
					b.WriteString(" – |")
				}
			}
			if f, ok := idx[fmt.Sprintf("%s/%s/%d", c, toolFloor, n)]; ok {
				fmt.Fprintf(&b, " %.2f ms |", (k.Median-f.Median).Seconds()*1000/float64(playTasks*n))
			} else {
				b.WriteString(" – |")
			}
			fmt.Fprintf(&b, " %.2f ms | %.1f MB |\n", k.CPU.Seconds()*1000/float64(playTasks*n), float64(k.MaxRSS)/1024)
		}
	}
	return b.String()
}

// playTasks is the number of tasks of bench/play/site.yml.
const playTasks = 20

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
