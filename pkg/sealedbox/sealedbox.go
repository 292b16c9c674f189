// Package sealedbox carries secrets to the notifier — the e-mail
// verification's link token and code from the e-mail ownership service, an
// invitation link from the relationships service — without letting anyone
// else who reads the stream use them: each is sealed to the notifier's
// X25519 public key (NaCl anonymous sealed box: an ephemeral sender key, so
// anyone can seal and only the private-key holder can open). It also defines the JSON contract of
// the sealed clear text (Payload), shared by the sealing and opening sides.
package sealedbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// Errors.
var (
	ErrBadKey     = errors.New("sealedbox: key must be 32 bytes, standard or URL base64")
	ErrCannotOpen = errors.New("sealedbox: cannot open (wrong key or tampered)")
	ErrBadPayload = errors.New("sealedbox: sealed payload has an unknown shape")
)

// PayloadVersion is the version of Payload this package writes and reads.
const PayloadVersion = 1

// Payload is the clear text inside a sealed secret (JSON): the e-mail
// verification's link token and code, or a relationship invitation's whole
// link. The opener must check ChallengeID — the id of the challenge, or of
// the relationship request, the secret was sealed for — against the event
// that carries it, so that a sealed blob cannot be replayed inside another
// event.
type Payload struct {
	V           int    `json:"v"` // PayloadVersion
	ChallengeID string `json:"challenge_id"`
	Token       string `json:"token,omitempty"`
	Code        string `json:"code,omitempty"`
	// Link is a whole link whose shape its sender owns (an invitation).
	Link string `json:"link,omitempty"`
}

// DecodeKey reads a 32-byte key in base64 (standard or URL, padded or not).
func DecodeKey(b64 string) (*[32]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(b64); err == nil && len(raw) == 32 {
			var k [32]byte
			copy(k[:], raw)
			return &k, nil
		}
	}
	return nil, ErrBadKey
}

// Sealer seals to one recipient public key.
type Sealer struct {
	pub  [32]byte
	rand io.Reader
}

// NewSealer takes the notifier's public key in base64.
func NewSealer(publicKeyB64 string) (*Sealer, error) {
	k, err := DecodeKey(publicKeyB64)
	if err != nil {
		return nil, err
	}
	return &Sealer{pub: *k, rand: rand.Reader}, nil
}

// Seal encrypts plaintext for the recipient; the output is 48 bytes longer.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	out, err := box.SealAnonymous(nil, plaintext, &s.pub, s.rand)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return out, nil
}

// SealPayload marshals p and seals it, wiping the clear JSON afterwards.
func (s *Sealer) SealPayload(p Payload) ([]byte, error) {
	p.V = PayloadVersion
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return s.Seal(plain)
}

// Opener holds a key pair and opens boxes sealed to it.
type Opener struct{ pub, priv [32]byte }

// NewOpener takes the private key in base64 and derives the public key.
func NewOpener(privateKeyB64 string) (*Opener, error) {
	k, err := DecodeKey(privateKeyB64)
	if err != nil {
		return nil, err
	}
	o := &Opener{priv: *k}
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

// OpenPayload opens sealed and decodes the Payload, checking that it belongs
// to challengeID.
func (o *Opener) OpenPayload(sealed []byte, challengeID string) (Payload, error) {
	plain, err := o.Open(sealed)
	if err != nil {
		return Payload{}, err
	}
	defer clear(plain)
	var p Payload
	if err := json.Unmarshal(plain, &p); err != nil || p.V != PayloadVersion || p.Token == "" || p.Code == "" {
		return Payload{}, ErrBadPayload
	}
	if p.ChallengeID != challengeID {
		return Payload{}, fmt.Errorf("%w: it belongs to another challenge", ErrBadPayload)
	}
	return p, nil
}

// GenerateKey makes a new key pair (standard base64).
func GenerateKey() (publicKey, privateKey string, err error) {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(pub[:]), base64.StdEncoding.EncodeToString(priv[:]), nil
}
