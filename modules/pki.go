package modules

import (
	"context"
	"fmt"
	"time"

	"github.com/kplay/kplay/pki"
)

// PKIArgs are the arguments of pki.
type PKIArgs struct {
	Dir     string              `arg:"dir,required"`
	Etcd    []map[string]string `arg:"etcd"`
	Masters []map[string]string `arg:"masters"`
	Nodes   []map[string]string `arg:"nodes"`
	// ControlPlaneEndpoint is host:port (the VIP and LB port); default the
	// first master's ip and apiserver_port.
	ControlPlaneEndpoint string   `arg:"control_plane_endpoint"`
	APIServerPort        int      `arg:"apiserver_port"`
	ClusterName          string   `arg:"cluster_name"`
	VIP                  string   `arg:"vip"`
	KubernetesSvcIP      string   `arg:"kubernetes_svc_ip"`
	ClusterDomain        string   `arg:"cluster_domain"`
	KeyAlgo              string   `arg:"key_algo"`
	ExtraAPIServerSAN    []string `arg:"extra_apiserver_sans"`
	EtcdCertSANs         []string `arg:"etcd_cert_sans"`
	CertValidityDays     int      `arg:"cert_validity_days"`
	CAValidityDays       int      `arg:"ca_validity_days"`
}

// PKI keeps the cluster's certificates in a folder on the control machine
// (see package pki). It never touches the target: roles run it once
// (run_once) and then copy to each host only the files that host needs.
type PKI struct{}

// Run implements Module.
func (PKI) Run(ctx context.Context, req *Request) (Result, error) {
	var a PKIArgs
	if err := Decode(req.Args, &a); err != nil {
		return Result{}, err
	}
	etcd, err := members("etcd", a.Etcd)
	if err != nil {
		return Result{}, err
	}
	masters, err := members("masters", a.Masters)
	if err != nil {
		return Result{}, err
	}
	nodes, err := members("nodes", a.Nodes)
	if err != nil {
		return Result{}, err
	}
	spec := pki.Spec{Dir: a.Dir, Etcd: etcd, Masters: masters, Nodes: nodes, VIP: a.VIP, KubernetesSvcIP: a.KubernetesSvcIP,
		ControlPlaneEndpoint: a.ControlPlaneEndpoint, APIServerPort: a.APIServerPort, ClusterName: a.ClusterName,
		ClusterDomain: a.ClusterDomain, KeyAlgo: a.KeyAlgo, ExtraAPIServerSAN: a.ExtraAPIServerSAN,
		EtcdCertSANs: a.EtcdCertSANs, DryRun: req.Check,
		CertValidity: time.Duration(a.CertValidityDays) * 24 * time.Hour,
		CAValidity:   time.Duration(a.CAValidityDays) * 24 * time.Hour}
	changes, err := pki.Ensure(spec)
	if err != nil {
		return Result{}, err
	}
	files := make([]any, len(changes))
	for i, c := range changes {
		files[i] = map[string]any{"path": c.Path, "action": c.Action, "reason": c.Reason}
	}
	res := Result{Changed: len(changes) > 0, Data: map[string]any{"files": files, "dir": a.Dir}}
	if res.Changed {
		res.Msg = fmt.Sprintf("%d certificate and kubeconfig files written", len(changes))
		if req.Check {
			res.Msg = fmt.Sprintf("%d certificate and kubeconfig files would be written", len(changes))
		}
	}
	return res, nil
}

func members(what string, in []map[string]string) ([]pki.Member, error) {
	out := make([]pki.Member, 0, len(in))
	for i, m := range in {
		for k := range m {
			if k != "name" && k != "ip" {
				return nil, fmt.Errorf("parameter %q item %d: unsupported key %q (name, ip)", what, i, k)
			}
		}
		out = append(out, pki.Member{Name: m["name"], IP: m["ip"]})
	}
	return out, nil
}
