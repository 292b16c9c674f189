package domain

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// tokenBytes is the invitation token's entropy: 256 bits, well above the 128
// required, so tokens cannot be guessed.
const tokenBytes = 32

// TokenHash is the SHA-256 of an invitation token: the only form stored.
type TokenHash [sha256.Size]byte

// String returns the hash in hex (the stored and indexed form).
func (h TokenHash) String() string { return hex.EncodeToString(h[:]) }

// NewInvitationToken draws a token from r (crypto/rand.Reader in production)
// and returns it base64url-encoded, with its hash. The clear token is handed
// to the provider once and never stored or published.
func NewInvitationToken(r io.Reader) (string, TokenHash, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", TokenHash{}, fmt.Errorf("draw invitation token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), sha256.Sum256(b), nil
}

// HashToken returns the hash of a token presented by a caller, or false when
// the token is malformed (callers treat that as unknown, revealing nothing).
func HashToken(token string) (TokenHash, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != tokenBytes {
		return TokenHash{}, false
	}
	return sha256.Sum256(b), true
}
