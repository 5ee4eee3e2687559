package engine

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// parsedTemplate is one cached parse of a template file.
type parsedTemplate struct {
	t   *template.Template
	err error
}

// templateFuncs are the functions of template files: sprig's text
// functions (as in Helm), then the kplay filters whose names sprig does not
// use, then kplay's own `quote` (shell quoting, as Ansible's quote filter;
// sprig's double-quoting stays available as `dquote`), and Helm's toYaml.
func templateFuncs() template.FuncMap {
	fm := sprig.TxtFuncMap()
	fm["dquote"] = fm["quote"]
	for name, f := range filterTable() {
		if _, taken := fm[name]; !taken {
			fm[name] = named(name, f)
		}
	}
	filters := filterTable()
	fm["quote"] = named("quote", filters["quote"])
	fm["toYaml"] = fm["to_yaml"] // Helm's name
	fm["hostvars"] = func(string) (any, error) { return nil, fmt.Errorf("hostvars: no variables bound") }
	return fm
}

// CheckTemplate parses a template file without running it, so that the
// loader reports syntax errors ("template: NAME:LINE: ...") before the run.
func (e *Evaluator) CheckTemplate(name string, text []byte) error {
	_, err := e.template(name, text)
	return err
}

// RenderFile executes the Go text/template text over vars (each variable is
// a top-level key: {{ .inventory_hostname }}). A reference to a missing key
// is an error naming it; errors carry "template: NAME:LINE:COL".
func (e *Evaluator) RenderFile(name string, text []byte, vars map[string]any) (out []byte, err error) {
	t, err := e.template(name, text)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("template %s: %v", name, r)
		}
	}()
	t, err = t.Clone()
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	t.Funcs(template.FuncMap{"hostvars": hostvarsFunc(vars)})
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// template returns the cached parse of (name, text).
func (e *Evaluator) template(name string, text []byte) (*template.Template, error) {
	key := name + "\x00" + string(text)
	if v, ok := e.tmpls.Load(key); ok {
		p := v.(*parsedTemplate)
		return p.t, p.err
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(e.txtFuncs).Parse(string(text))
	p := &parsedTemplate{t: t, err: err}
	if err != nil {
		p.t = nil
	}
	v, _ := e.tmpls.LoadOrStore(key, p)
	p = v.(*parsedTemplate)
	return p.t, p.err
}

// hostvarsFunc is the template function `hostvars "name"`: that host's
// variables, an error naming the host when it is not in the inventory.
func hostvarsFunc(vars map[string]any) func(string) (any, error) {
	return func(host string) (any, error) {
		hv, ok := vars["hostvars"]
		if !ok {
			return nil, fmt.Errorf("hostvars: no hostvars variable")
		}
		v, ok := index(hv, host)
		if !ok {
			return nil, fmt.Errorf("hostvars: unknown host %q", host)
		}
		return v, nil
	}
}
