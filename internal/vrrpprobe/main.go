package vrrpprobe

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"
)

// Report is what `kplay __probe vrrp --json` prints: the adverts seen on
// an interface during a listening window. The vrrp_probe module reads it.
type Report struct {
	Interface string   `json:"interface"`
	Seconds   int      `json:"seconds"`
	Adverts   []Advert `json:"adverts"`
}

// MaxSeconds bounds a listening window.
const MaxSeconds = 300

// Main is the hidden subcommand `kplay __probe vrrp --if IF --seconds N
// [--json]`, run on a target host by the vrrp_probe module when the host
// has no tcpdump. It only listens. It returns the exit code: 0 listened,
// 1 could not listen, 2 bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "vrrp" {
		fmt.Fprintln(stderr, "usage: kplay __probe vrrp --if IFACE [--seconds N] [--json]")
		return 2
	}
	fs := flag.NewFlagSet("__probe vrrp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("if", "", "interface to listen on")
	secs := fs.Int("seconds", 4, "how long to listen")
	asJSON := fs.Bool("json", false, "print a JSON report")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *iface == "" || *secs < 1 || *secs > MaxSeconds || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "__probe vrrp: need --if and 1 <= --seconds <= %d\n", MaxSeconds)
		return 2
	}
	adverts, err := Listen(ctx, *iface, time.Duration(*secs)*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "__probe vrrp: %v\n", err)
		return 1
	}
	rep := Report{Interface: *iface, Seconds: *secs, Adverts: adverts}
	if *asJSON {
		if rep.Adverts == nil {
			rep.Adverts = []Advert{}
		}
		json.NewEncoder(stdout).Encode(rep)
		return 0
	}
	for _, in := range Instances(adverts) {
		fmt.Fprintf(stdout, "%s vrid %d VRRPv%d priority %d %s (%d adverts)\n",
			in.Src, in.VRID, in.Version, in.Priority, mode(in.Multicast), in.Adverts)
	}
	return 0
}

func mode(multicast bool) string {
	if multicast {
		return "multicast"
	}
	return "unicast"
}
