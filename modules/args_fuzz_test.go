package modules

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzDecode: any mapping of arguments (as YAML gives them) decodes into
// every module's argument struct or gives an error, never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"dest: /etc/x\nmode: '0644'\n", "mode: 0644\nowner: root\n", "name: [a, b]\nstate: present\n",
		"path: /x\nstate: directory\nrecurse: yes\n", "content: {a: 1}\n", "etcd: [{name: e1, ip: 1.2.3.4}]\n",
		"enabled: maybe\n", "retries: 1e400\n", "_raw_params: ls -l\nchdir: /tmp\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var args map[string]any
		if err := yaml.Unmarshal(data, &args); err != nil || args == nil {
			return
		}
		for _, name := range Names() {
			info, _ := Lookup(name)
			if info.Args == nil {
				continue
			}
			dst := newArgs(info.Args)
			_ = Decode(args, dst)
		}
	})
}

// newArgs returns a pointer to a new zero value of proto's type.
func newArgs(proto any) any {
	t := reflect.TypeOf(proto)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return reflect.New(t).Interface()
}
