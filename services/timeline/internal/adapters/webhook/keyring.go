// Package webhook is the webhook dispatcher's outside world: the HTTP
// sender that signs deliveries per the Standard Webhooks specification,
// and the keyring that keeps signing secrets encrypted at rest.
package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Keyring seals signing secrets with AES-256-GCM under the key of
// WEBHOOK_SECRET_KEY. A secret must be usable to sign, so it is encrypted,
// not hashed; the endpoint and secret ids are the additional data, so a
// sealed secret copied to another row does not open. Sealed form: a
// version byte (1), the 12-byte nonce, the ciphertext and its tag.
type Keyring struct {
	aead cipher.AEAD
}

const sealVersion = 1

// NewKeyring returns the keyring of a 32-byte key.
func NewKeyring(key []byte) (*Keyring, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("webhook secret key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead}, nil
}

func additional(endpointID, secretID string) []byte {
	return []byte("partnerhub-webhook-secret\x00" + endpointID + "\x00" + secretID)
}

// Seal encrypts secret for (endpointID, secretID).
func (k *Keyring) Seal(endpointID, secretID string, secret []byte) ([]byte, error) {
	out := make([]byte, 1+k.aead.NonceSize(), 1+k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return k.aead.Seal(out, out[1:], secret, additional(endpointID, secretID)), nil
}

// ErrCannotOpen is returned for a sealed secret this key did not seal for
// that endpoint and secret.
var ErrCannotOpen = errors.New("webhook secret cannot be opened with this key")

// Open decrypts what Seal sealed for (endpointID, secretID).
func (k *Keyring) Open(endpointID, secretID string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrCannotOpen
	}
	secret, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], additional(endpointID, secretID))
	if err != nil {
		return nil, ErrCannotOpen
	}
	return secret, nil
}
