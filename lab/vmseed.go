package lab

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A VM's identity (hostname, hosts, machine-id, SSH host key, authorized
// key, network config) reaches its disk through its initrd: the image's
// initrd plus a second, uncompressed cpio archive holding kplay-seed/...,
// which the image's init-bottom hook copies into the root before systemd
// starts (once per disk). The kernel unpacks concatenated archives in turn.

// seedPrefix is the folder of the initrd the image's hook copies from.
const seedPrefix = "kplay-seed"

// cpioEntry is one file or folder of a newc archive.
type cpioEntry struct {
	name  string
	mode  uint32 // type and permission bits as in stat(2)
	mtime int64  // seconds since the epoch
	data  []byte
}

// cpio types and the trailer that ends an archive.
const (
	cpioDir     = 0o040000
	cpioFile    = 0o100000
	cpioTrailer = "TRAILER!!!"
)

// writeCpio renders entries as a newc ("070701") archive, owned by root,
// ended by the trailer.
func writeCpio(entries []cpioEntry) []byte {
	var b bytes.Buffer
	pad := func() {
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	ino := 1
	for _, e := range append(entries, cpioEntry{name: cpioTrailer}) {
		nlink := 1
		if e.mode&cpioDir != 0 {
			nlink = 2
		}
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, e.mode, 0, 0, nlink, e.mtime, len(e.data), 0, 0, 0, 0, len(e.name)+1, 0)
		b.WriteString(e.name)
		b.WriteByte(0)
		pad()
		b.Write(e.data)
		pad()
		ino++
	}
	return b.Bytes()
}

// seedArchive packs the tree under dir (files and folders, their modes) as
// kplay-seed/... entries, parents before children.
func seedArchive(dir string) ([]byte, error) {
	entries := []cpioEntry{{name: seedPrefix, mode: cpioDir | 0o755, mtime: time.Now().Unix()}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := cpioEntry{name: seedPrefix + "/" + filepath.ToSlash(rel), mode: uint32(info.Mode().Perm()), mtime: info.ModTime().Unix()}
		switch {
		case d.IsDir():
			e.mode |= cpioDir
		case info.Mode().IsRegular():
			e.mode |= cpioFile
			if e.data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: only files and folders go into a seed", p)
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seed archive %s: %w", dir, err)
	}
	return writeCpio(entries), nil
}

// vmNetworkUnit is the systemd-networkd config giving a VM its lab address
// on the NIC with its fixed MAC: no gateway, no DNS, no IPv6.
func vmNetworkUnit(h Host) string {
	return strings.Join([]string{
		"[Match]", "MACAddress=" + h.MAC, "",
		"[Network]", "Address=" + h.IP + "/24", "LinkLocalAddressing=no", "IPv6AcceptRA=no", "",
	}, "\n")
}

// vmInitrd writes a VM's initrd: the image's initrd, zero padding to a
// 4-byte boundary, then the VM's seed archive made from seedDir.
func vmInitrd(imageInitrd, seedDir, out string) error {
	base, err := os.ReadFile(imageInitrd)
	if err != nil {
		return fmt.Errorf("vm initrd: %w", err)
	}
	seed, err := seedArchive(seedDir)
	if err != nil {
		return err
	}
	data := append(base, make([]byte, (512-len(base)%512)%512)...)
	return writeFile(out, append(data, seed...), 0o644)
}
