package lab

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"
)

// keyPair loads the ed25519 key at path, or generates and saves it (OpenSSH
// format, path and path.pub) the first time, so a key survives lab rebuilds
// and known_hosts entries stay valid.
func keyPair(path, comment string) (ssh.Signer, error) {
	if data, err := os.ReadFile(path); err == nil {
		s, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("read key %s: %w", path, err)
		}
		return s, nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key %s: %w", path, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("encode key %s: %w", path, err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode key %s: %w", path, err)
	}
	if err := writeFile(path+".pub", []byte(authorizedLine(s.PublicKey(), comment)), 0o644); err != nil {
		return nil, err
	}
	if err := writeFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// authorizedLine renders a public key as one authorized_keys line.
func authorizedLine(k ssh.PublicKey, comment string) string {
	line := string(ssh.MarshalAuthorizedKey(k))
	return line[:len(line)-1] + " " + comment + "\n"
}
