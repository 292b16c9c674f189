// Package sealedbox opens the verification secret that the e-mail ownership
// service sealed to this notifier's X25519 public key (NaCl anonymous sealed
// box). The sealing side lives in that service: services never import each
// other, and the helper is a few lines (a candidate for pkg/).
package sealedbox

import (
	"crypto/rand"
	"encoding/base64"
	"errors"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// ErrBadKey is returned for a private key that is not 32 bytes of base64.
var ErrBadKey = errors.New("sealedbox: private key must be 32 bytes of standard base64")

// ErrCannotOpen is returned for a blob not sealed to this key, or tampered with.
var ErrCannotOpen = errors.New("sealedbox: cannot open (wrong key or tampered)")

// Opener holds the key pair. It implements app.Opener.
type Opener struct{ pub, priv [32]byte }

// NewOpener takes the private key in standard base64 and derives the public key.
func NewOpener(privateKeyB64 string) (*Opener, error) {
	raw, err := base64.StdEncoding.DecodeString(privateKeyB64)
	if err != nil || len(raw) != 32 {
		return nil, ErrBadKey
	}
	o := &Opener{}
	copy(o.priv[:], raw)
	pub, err := curve25519.X25519(o.priv[:], curve25519.Basepoint)
	if err != nil {
		return nil, ErrBadKey
	}
	copy(o.pub[:], pub)
	return o, nil
}

// PublicKey returns the public key in standard base64, for the sealing side's config.
func (o *Opener) PublicKey() string { return base64.StdEncoding.EncodeToString(o.pub[:]) }

// Open decrypts a sealed box.
func (o *Opener) Open(sealed []byte) ([]byte, error) {
	out, ok := box.OpenAnonymous(nil, sealed, &o.pub, &o.priv)
	if !ok {
		return nil, ErrCannotOpen
	}
	return out, nil
}

// GenerateKey makes a new key pair (base64), e.g. for a key-generation command.
func GenerateKey() (publicKey, privateKey string, err error) {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(pub[:]), base64.StdEncoding.EncodeToString(priv[:]), nil
}
