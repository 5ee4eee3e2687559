package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// readTar returns every regular file and symlink of a tar by name.
func readTar(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		if hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("read %s: %v", hdr.Name, err)
			}
			hdr.PAXRecords = map[string]string{"data": string(data)}
		}
		out[hdr.Name] = hdr
	}
}

func data(h *tar.Header) []byte { return []byte(h.PAXRecords["data"]) }

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func blobFor(t *testing.T, files map[string]*tar.Header, digest string) []byte {
	t.Helper()
	h, ok := files["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]
	if !ok {
		t.Fatalf("blob %s missing", digest)
	}
	if got := digestOf(data(h)); got != digest {
		t.Fatalf("blob %s has digest %s", digest, got)
	}
	return data(h)
}

func TestWriteLayout(t *testing.T) {
	img := Image{
		Ref: "registry.k8s.io/pause:3.10", Entrypoint: []string{"/pause"}, User: "65535:65535",
		Files: []File{
			{Path: "/pause", Mode: 0o755, Data: []byte("binary")},
			{Path: "/bin/sh", Link: "busybox"},
			{Path: "/etc/app/conf", Mode: 0o644, Data: []byte("x=1\n")},
		},
	}
	var buf bytes.Buffer
	if err := Write(&buf, img); err != nil {
		t.Fatalf("Write: %v", err)
	}
	files := readTar(t, bytes.NewReader(buf.Bytes()))
	if got := string(data(files["oci-layout"])); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", got)
	}
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(data(files["index.json"]), &index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if len(index.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(index.Manifests))
	}
	m := index.Manifests[0]
	if m.Annotations[AnnotationRefName] != img.Ref || m.Annotations[AnnotationImageName] != img.Ref {
		t.Errorf("annotations = %v, want both names %s", m.Annotations, img.Ref)
	}
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(blobFor(t, files, m.Digest), &manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var cfg struct {
		OS     string `json:"os"`
		Config struct {
			Entrypoint []string
			User       string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(blobFor(t, files, manifest.Config.Digest), &cfg); err != nil {
		t.Fatalf("config: %v", err)
	}
	if cfg.OS != "linux" || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/pause" || cfg.Config.User != "65535:65535" {
		t.Errorf("config = %+v", cfg)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blobFor(t, files, manifest.Layers[0].Digest)))
	if err != nil {
		t.Fatalf("layer gzip: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("layer gzip: %v", err)
	}
	if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != digestOf(raw) {
		t.Errorf("diff_ids = %v, want [%s]", cfg.RootFS.DiffIDs, digestOf(raw))
	}
	layerFiles := readTar(t, bytes.NewReader(raw))
	checks := []struct {
		name string
		typ  byte
		mode int64
		want string
	}{
		{"pause", tar.TypeReg, 0o755, "binary"},
		{"etc/", tar.TypeDir, 0o755, ""},
		{"etc/app/", tar.TypeDir, 0o755, ""},
		{"etc/app/conf", tar.TypeReg, 0o644, "x=1\n"},
		{"bin/sh", tar.TypeSymlink, 0o777, ""},
	}
	for _, c := range checks {
		h, ok := layerFiles[c.name]
		if !ok {
			t.Errorf("layer lacks %s (has %v)", c.name, keys(layerFiles))
			continue
		}
		if h.Typeflag != c.typ || h.Mode != c.mode || (c.typ == tar.TypeReg && string(data(h)) != c.want) {
			t.Errorf("%s: type %c mode %o data %q, want %c %o %q", c.name, h.Typeflag, h.Mode, data(h), c.typ, c.mode, c.want)
		}
	}
	if layerFiles["bin/sh"].Linkname != "busybox" {
		t.Errorf("bin/sh links to %q", layerFiles["bin/sh"].Linkname)
	}
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestWriteDeterministic(t *testing.T) {
	img := Image{Ref: "example.org/a:1", Files: []File{{Path: "/b", Mode: 0o600, Data: []byte("b")}, {Path: "/a/x", Mode: 0o755, Data: []byte("a")}}}
	var one, two bytes.Buffer
	if err := Write(&one, img); err != nil {
		t.Fatal(err)
	}
	img.Files[0], img.Files[1] = img.Files[1], img.Files[0]
	if err := Write(&two, img); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("the same files in another order gave another archive")
	}
}

func TestWriteRejects(t *testing.T) {
	cases := []struct {
		name string
		img  Image
		want string
	}{
		{"no tag", Image{Ref: "pause"}, "want name:tag"},
		{"relative path", Image{Ref: "a:1", Files: []File{{Path: "pause"}}}, "clean absolute path"},
		{"unclean path", Image{Ref: "a:1", Files: []File{{Path: "/a/../b"}}}, "clean absolute path"},
		{"twice", Image{Ref: "a:1", Files: []File{{Path: "/a"}, {Path: "/a"}}}, "listed twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Write(io.Discard, c.img)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Write = %v, want error containing %q", err, c.want)
			}
		})
	}
}
