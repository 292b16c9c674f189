package sealedbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Development key files of the notifier under the dev-keys directory
// (.run/dev-keys for `make run`).
const (
	DevPublicKeyFile  = "notifier.pub"
	DevPrivateKeyFile = "notifier.key"
)

// EnsureDevKeyPair returns the development key pair kept in dir, creating it
// on first use. Either service may call it first, concurrently: the private
// key is created with a hard link (which fails if the file exists), so both
// end up with the same pair; the public key file is derived from it and is
// for humans. Never use this outside local development.
func EnsureDevKeyPair(dir string) (publicKey, privateKey string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	privPath := filepath.Join(dir, DevPrivateKeyFile)
	if _, err := os.Stat(privPath); os.IsNotExist(err) {
		_, priv, err := GenerateKey()
		if err != nil {
			return "", "", err
		}
		tmp, err := os.CreateTemp(dir, ".notifier-key-*")
		if err != nil {
			return "", "", err
		}
		_, werr := tmp.WriteString(priv + "\n")
		cerr := tmp.Close()
		if werr != nil || cerr != nil {
			_ = os.Remove(tmp.Name())
			return "", "", fmt.Errorf("write dev key: %v %v", werr, cerr)
		}
		lerr := os.Link(tmp.Name(), privPath) // loses harmlessly to a concurrent creator
		_ = os.Remove(tmp.Name())
		if lerr != nil && !os.IsExist(lerr) {
			return "", "", lerr
		}
	}
	raw, err := os.ReadFile(privPath)
	if err != nil {
		return "", "", err
	}
	privateKey = strings.TrimSpace(string(raw))
	o, err := NewOpener(privateKey)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", privPath, err)
	}
	publicKey = o.PublicKey()
	pubPath := filepath.Join(dir, DevPublicKeyFile)
	if cur, err := os.ReadFile(pubPath); err != nil || strings.TrimSpace(string(cur)) != publicKey {
		tmp, err := os.CreateTemp(dir, ".notifier-pub-*")
		if err != nil {
			return "", "", err
		}
		_, werr := tmp.WriteString(publicKey + "\n")
		cerr := tmp.Close()
		if werr == nil && cerr == nil {
			werr = os.Rename(tmp.Name(), pubPath)
		}
		if werr != nil || cerr != nil {
			_ = os.Remove(tmp.Name())
			return "", "", fmt.Errorf("write dev public key: %v %v", werr, cerr)
		}
	}
	return publicKey, privateKey, nil
}
