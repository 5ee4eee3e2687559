// Package scripttest runs the project's shell scripts (scripts/) against
// stand-ins on loopback.
package scripttest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// release serves a fake Kubernetes release tree with one binary, kubectl,
// and its .sha256 (sum: the published checksum).
func release(t *testing.T, body, sum string) *httptest.Server {
	t.Helper()
	dir := "/v1.34.4/bin/linux/" + runtime.GOARCH + "/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case dir + "kubectl":
			w.Write([]byte(body))
		case dir + "kubectl.sha256":
			w.Write([]byte(sum))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// k8sBuild runs scripts/k8s-build.sh kubectl with source download against
// url and returns its output, exit code and the bin folder.
func k8sBuild(t *testing.T, url string) (string, int, string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl missing")
	}
	art := t.TempDir()
	cmd := exec.Command("bash", "../../scripts/k8s-build.sh", "kubectl")
	cmd.Env = append(os.Environ(), "KPLAY_ARTIFACTS="+art, "KPLAY_K8S_SOURCE=download", "KPLAY_K8S_URL="+url, "K8S_VERSION=v1.34.4")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code, filepath.Join(art, "kubernetes", "v1.34.4", "bin")
}

func TestK8sBuildDownload(t *testing.T) {
	body := "#!/bin/sh\necho fake kubectl\n"
	h := sha256.Sum256([]byte(body))
	sum := hex.EncodeToString(h[:])
	t.Run("checked and listed", func(t *testing.T) {
		out, code, bin := k8sBuild(t, release(t, body, sum+"\n").URL)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		st, err := os.Stat(filepath.Join(bin, "kubectl"))
		if err != nil || st.Mode().Perm() != 0o755 {
			t.Fatalf("kubectl: %v %v", st, err)
		}
		sums, _ := os.ReadFile(filepath.Join(bin, "SHA256SUMS"))
		if string(sums) != sum+"  kubectl\n" {
			t.Errorf("SHA256SUMS %q", sums)
		}
	})
	t.Run("checksum mismatch leaves nothing", func(t *testing.T) {
		out, code, bin := k8sBuild(t, release(t, body, strings.Repeat("0", 64)).URL)
		if code != 1 || !strings.Contains(out, "sha256 "+sum+", published "+strings.Repeat("0", 64)) {
			t.Fatalf("exit %d, want 1 naming both sums:\n%s", code, out)
		}
		if ents, _ := os.ReadDir(bin); len(ents) != 0 {
			t.Errorf("left in %s: %v", bin, ents)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := release(t, body, sum)
		url := srv.URL
		srv.Close()
		out, code, _ := k8sBuild(t, url)
		if code != 1 || !strings.Contains(out, "download from "+url+" failed") {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
	})
}
