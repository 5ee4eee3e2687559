package vrrpprobe

import (
	"cmp"
	"slices"
	"strings"
)

// Instance is one VRRP router seen on the link: the adverts of one source
// for one virtual router id, with the last priority it announced.
type Instance struct {
	Src       string `json:"src"`
	VRID      int    `json:"vrid"`
	Version   int    `json:"version"`
	Priority  int    `json:"priority"`
	Multicast bool   `json:"multicast"`
	// To lists the unicast adverts' destinations, sorted and comma
	// separated ("" for multicast): a foreign router sending to one of
	// our lb hosts has its unicast peers overlap ours.
	To       string `json:"to,omitempty"`
	Interval int    `json:"interval_cs"`
	Adverts  int    `json:"adverts"`
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
		if !a.Multicast {
			out[i].To = addTo(out[i].To, a.Dst)
		}
	}
	slices.SortFunc(out, func(a, b Instance) int {
		return cmp.Or(cmp.Compare(a.VRID, b.VRID), cmp.Compare(a.Src, b.Src),
			cmp.Compare(a.Version, b.Version), boolCmp(a.Multicast, b.Multicast))
	})
	return out
}

// addTo adds dst to the sorted comma-separated list to.
func addTo(to, dst string) string {
	var list []string
	if to != "" {
		list = strings.Split(to, ",")
	}
	if dst == "" || slices.Contains(list, dst) {
		return to
	}
	list = append(list, dst)
	slices.Sort(list)
	return strings.Join(list, ",")
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
	// theirs multicast), or the foreign router unicasts to one of our lb
	// hosts (its peers overlap ours: keepalived 2.2 on a BACKUP hit by
	// such adverts, even with another password, was seen flapping to
	// MASTER every few seconds). A foreign unicast router with our vrid
	// sending elsewhere while we are unicast too is only a warning:
	// keepalived.conf(5) allows duplicate vrids "when using unicasting if
	// the unicast peers ... do not overlap".
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
		out = append(out, Conflict{Instance: in, Fatal: in.Multicast || !unicast || SendsTo(in, peers)})
	}
	return out
}

// SendsTo reports whether the unicast instance in sent adverts to one of
// peers.
func SendsTo(in Instance, peers []string) bool {
	if in.To == "" {
		return false
	}
	for _, d := range strings.Split(in.To, ",") {
		if slices.Contains(peers, d) {
			return true
		}
	}
	return false
}
