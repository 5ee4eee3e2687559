package vrrpprobe

import (
	"cmp"
	"slices"
)

// Instance is one VRRP router seen on the link: the adverts of one source
// for one virtual router id, with the last priority it announced.
type Instance struct {
	Src       string `json:"src"`
	VRID      int    `json:"vrid"`
	Version   int    `json:"version"`
	Priority  int    `json:"priority"`
	Multicast bool   `json:"multicast"`
	Interval  int    `json:"interval_cs"`
	Adverts   int    `json:"adverts"`
}

// Instances groups adverts by source, vrid, version and multicast/unicast,
// sorted by vrid then source, so that a report lists each router once.
func Instances(adverts []Advert) []Instance {
	type key struct {
		src           string
		vrid, version int
		multicast     bool
	}
	idx := map[key]int{}
	var out []Instance
	for _, a := range adverts {
		k := key{a.Src, a.VRID, a.Version, a.Multicast}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Instance{Src: a.Src, VRID: a.VRID, Version: a.Version, Multicast: a.Multicast})
		}
		out[i].Priority, out[i].Interval = a.Priority, a.Interval
		out[i].Adverts++
	}
	slices.SortFunc(out, func(a, b Instance) int {
		return cmp.Or(cmp.Compare(a.VRID, b.VRID), cmp.Compare(a.Src, b.Src),
			cmp.Compare(a.Version, b.Version), boolCmp(a.Multicast, b.Multicast))
	})
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Conflict is a foreign instance using our vrid, and whether it must stop
// the deployment.
type Conflict struct {
	Instance
	// Fatal: the two routers would see each other's adverts (ours or
	// theirs multicast). A foreign unicast router with our vrid while we
	// are unicast too is only a warning: keepalived.conf(5) allows
	// duplicate vrids "when using unicasting if the unicast peers ... do
	// not overlap".
	Fatal bool `json:"fatal"`
}

// Conflicts returns the instances with our vrid that are not ours. Ours
// are those sending from one of peers (the lb hosts' addresses), in our
// mode: while we run unicast, a multicast advert from an lb host's address
// is another keepalived on that host, hence foreign.
func Conflicts(insts []Instance, vrid int, peers []string, unicast bool) []Conflict {
	var out []Conflict
	for _, in := range insts {
		if in.VRID != vrid {
			continue
		}
		if slices.Contains(peers, in.Src) && !(unicast && in.Multicast) {
			continue
		}
		out = append(out, Conflict{Instance: in, Fatal: in.Multicast || !unicast})
	}
	return out
}
