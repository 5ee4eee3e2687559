package modules

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kplay/kplay/shell"
)

// pkgManager holds the command lines of one package manager.
type pkgManager struct {
	name     string
	update   string
	remove   string
	simulate string
	install  func(recommends *bool) string
	// parseSimulated lists the packages a simulated install would change.
	parseSimulated func(out string, names []string) []string
}

const aptEnv = "DEBIAN_FRONTEND=noninteractive "

var aptManager = pkgManager{
	name:     "apt",
	update:   aptEnv + "apt-get update -q",
	remove:   aptEnv + "apt-get remove -y -q",
	simulate: aptEnv + "apt-get install -s -q",
	install: func(rec *bool) string {
		flag := " --no-install-recommends"
		if rec != nil && *rec {
			flag = " --install-recommends"
		}
		return aptEnv + "apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold" + flag
	},
	parseSimulated: func(out string, names []string) []string {
		want := map[string]bool{}
		for _, n := range names {
			want[n] = true
		}
		var got []string
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "Inst" && want[f[1]] {
				got = append(got, f[1])
			}
		}
		return got
	},
}

func rpmManager(tool string) pkgManager {
	return pkgManager{
		name:     tool,
		update:   tool + " makecache -q",
		remove:   tool + " remove -y -q",
		simulate: tool + " check-update -q",
		install:  func(*bool) string { return tool + " install -y -q" },
		parseSimulated: func(out string, names []string) []string {
			var got []string
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				for _, n := range names {
					if len(f) > 0 && strings.HasPrefix(f[0], n+".") {
						got = append(got, n)
					}
				}
			}
			return got
		},
	}
}

// queryPackages detects the package manager (unless use names one) and
// reads the installed state and version of names, in one round trip.
func queryPackages(ctx context.Context, c Conn, use string, names []string) (pkgManager, map[string]pkgState, error) {
	var b strings.Builder
	b.WriteString(`use=` + shell.Quote(use) + `
if [ -z "$use" ]; then
  if command -v apt-get >/dev/null 2>&1; then use=apt
  elif command -v dnf >/dev/null 2>&1; then use=dnf
  elif command -v yum >/dev/null 2>&1; then use=yum
  else echo "no supported package manager (apt-get, dnf, yum) found" >&2; exit 3; fi
fi
echo "manager $use"
`)
	for _, n := range names {
		q := shell.Quote(n)
		b.WriteString(`if [ "$use" = apt ]; then s=$(dpkg-query -W -f='${db:Status-Status} ${Version}' -- ` + q +
			` 2>/dev/null); else s=$(rpm -q --qf 'installed %{VERSION}-%{RELEASE}' -- ` + q + ` 2>/dev/null) || s=; fi
echo "pkg ` + n + ` ${s:-not-installed}"
`)
	}
	var out, errb bytes.Buffer
	if err := c.Exec(ctx, b.String(), nil, &out, &errb); err != nil {
		if ExitCode(err) < 0 {
			return pkgManager{}, nil, err
		}
		return pkgManager{}, nil, fmt.Errorf("package: %s", strings.TrimSpace(errb.String()))
	}
	return parsePackages(out.String())
}

func parsePackages(out string) (pkgManager, map[string]pkgState, error) {
	var mgr pkgManager
	states := map[string]pkgState{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "manager":
			switch f[1] {
			case "apt":
				mgr = aptManager
			case "dnf", "yum":
				mgr = rpmManager(f[1])
			default:
				return mgr, nil, fmt.Errorf("package: unsupported manager %q (apt, dnf, yum)", f[1])
			}
		case len(f) >= 3 && f[0] == "pkg":
			st := pkgState{installed: f[2] == "installed"}
			if st.installed && len(f) > 3 {
				st.version = f[3]
			}
			states[f[1]] = st
		}
	}
	if mgr.name == "" {
		return mgr, nil, fmt.Errorf("package: could not detect the package manager")
	}
	return mgr, states, nil
}
