// Package sealedbox seals the verification secret to the notifier's X25519
// public key (NaCl anonymous sealed box: an ephemeral sender key, so anyone
// can seal and only the private-key holder can open). The notifier has the
// matching opener; the few lines are duplicated on purpose because services
// never import each other (a candidate for pkg/ if a third user appears).
package sealedbox

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/nacl/box"
)

// ErrBadKey is returned for a public key that is not 32 bytes of base64.
var ErrBadKey = errors.New("sealedbox: public key must be 32 bytes, standard or URL base64")

// Sealer seals to one recipient public key. It implements app.Sealer.
type Sealer struct {
	pub  [32]byte
	rand io.Reader
}

// NewSealer takes the notifier's public key in base64 (standard or URL, padded or not).
func NewSealer(publicKeyB64 string) (*Sealer, error) {
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(publicKeyB64); err == nil && len(raw) == 32 {
			break
		}
	}
	if err != nil || len(raw) != 32 {
		return nil, ErrBadKey
	}
	s := &Sealer{rand: rand.Reader}
	copy(s.pub[:], raw)
	return s, nil
}

// Seal encrypts plaintext for the recipient; the output is 48 bytes longer.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	out, err := box.SealAnonymous(nil, plaintext, &s.pub, s.rand)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return out, nil
}
