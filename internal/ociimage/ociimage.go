// Package ociimage writes single-layer container images as OCI image
// layout archives (a tar of oci-layout, index.json and blobs/sha256/...),
// the format `ctr -n k8s.io images import` reads. kplay builds the images a
// Kubernetes node needs (pause, CoreDNS, flannel) from source on machines
// that reach no container registry, and imports them on the nodes offline.
//
// The output is deterministic: the same files give the same bytes (fixed
// times, owners and order), so a rebuild does not change the archive's
// sha256 and a re-run of the node role copies nothing.
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Media types and annotations of the OCI image spec (and the one containerd
// adds), spelled once.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
	// AnnotationRefName is the OCI annotation naming a manifest in index.json.
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationImageName is containerd's: the full image name its importer
	// prefers over AnnotationRefName.
	AnnotationImageName = "io.containerd.image.name"
)

// epoch is the time stamped on every layer entry and in the config, so
// builds are reproducible.
var epoch = time.Unix(0, 0).UTC()

// File is one entry of the image's only layer: a regular file (Data), or a
// symbolic link when Link is set. Parent folders are added as needed.
type File struct {
	Path string // absolute path inside the image, e.g. /pause
	Mode int64  // permission bits, e.g. 0o755
	Data []byte
	Link string // symlink target; Data is ignored when set
}

// Image describes what to write: the reference the runtime will know the
// image by, the process it starts, and its files.
type Image struct {
	Ref        string // e.g. registry.k8s.io/pause:3.10
	Entrypoint []string
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	Arch       string // default amd64
	Files      []File
}

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// blob is content addressed by its sha256.
type blob struct {
	digest string
	data   []byte
}

func newBlob(data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{digest: "sha256:" + hex.EncodeToString(sum[:]), data: data}
}

// Write writes img as an OCI image layout tar to w.
func Write(w io.Writer, img Image) error {
	if err := validate(img); err != nil {
		return err
	}
	layerTar, err := layer(img.Files)
	if err != nil {
		return fmt.Errorf("image %s: layer: %w", img.Ref, err)
	}
	diffID := newBlob(layerTar).digest
	gz, err := gzipped(layerTar)
	if err != nil {
		return fmt.Errorf("image %s: compress layer: %w", img.Ref, err)
	}
	layerBlob := newBlob(gz)
	cfgBlob, err := configBlob(img, diffID)
	if err != nil {
		return fmt.Errorf("image %s: config: %w", img.Ref, err)
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeManifest,
		"config":        descriptor{MediaType: MediaTypeConfig, Digest: cfgBlob.digest, Size: int64(len(cfgBlob.data))},
		"layers":        []descriptor{{MediaType: MediaTypeLayer, Digest: layerBlob.digest, Size: int64(len(layerBlob.data))}},
	})
	if err != nil {
		return fmt.Errorf("image %s: manifest: %w", img.Ref, err)
	}
	manBlob := newBlob(manifest)
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeIndex,
		"manifests": []descriptor{{
			MediaType: MediaTypeManifest, Digest: manBlob.digest, Size: int64(len(manBlob.data)),
			Annotations: map[string]string{AnnotationRefName: img.Ref, AnnotationImageName: img.Ref},
		}},
	})
	if err != nil {
		return fmt.Errorf("image %s: index: %w", img.Ref, err)
	}
	return writeLayout(w, index, []blob{cfgBlob, layerBlob, manBlob})
}

// validate rejects what would make a broken image.
func validate(img Image) error {
	if img.Ref == "" || strings.ContainsAny(img.Ref, " \t\n") || !strings.Contains(img.Ref, ":") {
		return fmt.Errorf("image ref %q: want name:tag", img.Ref)
	}
	seen := map[string]bool{}
	for _, f := range img.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return fmt.Errorf("image %s: file path %q: want a clean absolute path", img.Ref, f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("image %s: file path %q: listed twice", img.Ref, f.Path)
		}
		seen[f.Path] = true
	}
	return nil
}

// configBlob is the image configuration (runtime settings and the layer's
// uncompressed digest).
func configBlob(img Image, diffID string) (blob, error) {
	arch := img.Arch
	if arch == "" {
		arch = "amd64"
	}
	cfg := map[string]any{}
	if len(img.Entrypoint) > 0 {
		cfg["Entrypoint"] = img.Entrypoint
	}
	if len(img.Cmd) > 0 {
		cfg["Cmd"] = img.Cmd
	}
	if len(img.Env) > 0 {
		cfg["Env"] = img.Env
	}
	if img.User != "" {
		cfg["User"] = img.User
	}
	if img.WorkingDir != "" {
		cfg["WorkingDir"] = img.WorkingDir
	}
	data, err := json.Marshal(map[string]any{
		"created":      epoch.Format(time.RFC3339),
		"architecture": arch,
		"os":           "linux",
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history":      []map[string]string{{"created": epoch.Format(time.RFC3339), "created_by": "kplay ociimage"}},
	})
	return newBlob(data), err
}

// layer is the uncompressed tar of files, parents first, sorted by path.
func layer(files []File) ([]byte, error) {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range sorted {
		if err := parents(tw, dirs, path.Dir(f.Path)); err != nil {
			return nil, err
		}
		hdr := &tar.Header{Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode, ModTime: epoch, Format: tar.FormatPAX}
		if f.Link != "" {
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
			if hdr.Mode == 0 {
				hdr.Mode = 0o777
			}
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if f.Link == "" {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parents adds directory entries for dir and its ancestors not yet written.
func parents(tw *tar.Writer, done map[string]bool, dir string) error {
	if dir == "/" || done[dir] {
		return nil
	}
	if err := parents(tw, done, path.Dir(dir)); err != nil {
		return err
	}
	done[dir] = true
	hdr := &tar.Header{Name: strings.TrimPrefix(dir, "/") + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

func gzipped(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeLayout writes the outer tar: oci-layout, index.json, the blobs.
func writeLayout(w io.Writer, index []byte, blobs []blob) error {
	tw := tar.NewWriter(w)
	entries := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
	}
	for _, b := range blobs {
		entries = append(entries, struct {
			name string
			data []byte
		}{"blobs/sha256/" + strings.TrimPrefix(b.digest, "sha256:"), b.data})
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch}); err != nil {
			return fmt.Errorf("write image layout: %w", err)
		}
	}
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg, ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write image layout %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("write image layout %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write image layout: %w", err)
	}
	return nil
}
