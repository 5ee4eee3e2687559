package vrrpprobe

import (
	"reflect"
	"testing"
)

func TestInstances(t *testing.T) {
	adverts := []Advert{
		{Version: 2, VRID: 51, Priority: 100, Src: "10.0.0.13", Multicast: true, Interval: 100},
		{Version: 2, VRID: 51, Priority: 120, Src: "10.0.0.11", Dst: "10.0.0.12", Interval: 100},
		{Version: 2, VRID: 51, Priority: 120, Src: "10.0.0.11", Dst: "10.0.0.10", Interval: 100},
		{Version: 2, VRID: 51, Priority: 120, Src: "10.0.0.11", Dst: "10.0.0.12", Interval: 100},
		{Version: 2, VRID: 51, Priority: 90, Src: "10.0.0.13", Multicast: true, Interval: 100},
		{Version: 3, VRID: 7, Priority: 100, Src: "10.0.0.13", Multicast: true, Interval: 50},
	}
	want := []Instance{
		{Src: "10.0.0.13", VRID: 7, Version: 3, Priority: 100, Multicast: true, Interval: 50, Adverts: 1},
		{Src: "10.0.0.11", VRID: 51, Version: 2, Priority: 120, To: "10.0.0.10,10.0.0.12", Interval: 100, Adverts: 3},
		{Src: "10.0.0.13", VRID: 51, Version: 2, Priority: 90, Multicast: true, Interval: 100, Adverts: 2},
	}
	if got := Instances(adverts); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestConflicts(t *testing.T) {
	peers := []string{"10.0.0.11", "10.0.0.12"}
	ours := Instance{Src: "10.0.0.11", VRID: 51, Version: 2}
	foreignMC := Instance{Src: "10.0.0.13", VRID: 51, Version: 2, Multicast: true}
	foreignUC := Instance{Src: "10.0.0.13", VRID: 51, Version: 2, To: "10.0.0.14"}
	foreignUCToUs := Instance{Src: "10.0.0.13", VRID: 51, Version: 2, To: "10.0.0.12,10.0.0.14"}
	otherVRID := Instance{Src: "10.0.0.13", VRID: 52, Version: 2, Multicast: true}
	mcFromPeer := Instance{Src: "10.0.0.12", VRID: 51, Version: 3, Multicast: true}
	tests := []struct {
		name    string
		insts   []Instance
		unicast bool
		want    []Conflict
	}{
		{"nothing seen", nil, true, nil},
		{"our own unicast instance (a re-run)", []Instance{ours}, true, nil},
		{"other vrid", []Instance{otherVRID, ours}, true, nil},
		{"foreign multicast, we unicast: fatal", []Instance{ours, foreignMC}, true, []Conflict{{foreignMC, true}}},
		{"foreign unicast, we unicast: warning", []Instance{foreignUC}, true, []Conflict{{foreignUC, false}}},
		{"foreign unicast to one of our lb hosts, we unicast: fatal", []Instance{foreignUCToUs}, true, []Conflict{{foreignUCToUs, true}}},
		{"foreign unicast, we multicast: fatal", []Instance{foreignUC}, false, []Conflict{{foreignUC, true}}},
		{"multicast from a peer while we unicast: foreign", []Instance{mcFromPeer}, true, []Conflict{{mcFromPeer, true}}},
		{"multicast from a peer while we multicast: ours", []Instance{mcFromPeer}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Conflicts(tt.insts, 51, peers, tt.unicast); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
