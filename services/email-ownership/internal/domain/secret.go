package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// TokenBytes is the entropy of a link token: 256 bits, well above the 128 required.
const TokenBytes = 32

// tokenLen is the length of a token in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// Secret is the clear-text pair mailed to the contact. It exists only in
// memory between generation and sealing (and in the notifier while rendering).
type Secret struct {
	Token string // base64url, no padding
	Code  string // exactly 6 digits
}

// NewSecret draws a token and a code from r, which must be a CSPRNG
// (crypto/rand.Reader in production).
func NewSecret(r io.Reader) (Secret, error) {
	b := make([]byte, TokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return Secret{}, fmt.Errorf("read token entropy: %w", err)
	}
	code, err := newCode(r)
	if err != nil {
		return Secret{}, err
	}
	return Secret{Token: base64.RawURLEncoding.EncodeToString(b), Code: code}, nil
}

// newCode returns a uniformly distributed 6-digit code. A plain v%10^6 would
// favour low codes slightly; rejection sampling above the largest multiple of
// 10^6 that fits in 32 bits removes that bias.
func newCode(r io.Reader) (string, error) {
	const n = 1_000_000
	const limit = (1 << 32) - (1<<32)%n
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("read code entropy: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); uint64(v) < limit {
			return fmt.Sprintf("%06d", v%n), nil
		}
	}
}

// ParseToken checks the shape of a token before any lookup, so that garbage
// never reaches the database.
func ParseToken(s string) (string, error) {
	if len(s) != tokenLen {
		return "", ErrMalformedToken
	}
	if _, err := base64.RawURLEncoding.DecodeString(s); err != nil {
		return "", ErrMalformedToken
	}
	return s, nil
}

// ParseCode returns the six digits of a code as a person types it, read
// as every digit string a person types is (normalize.Digits): full-width
// digits from a Japanese input method, and spaces or hyphens between
// groups, are the same code ("１２３ ４５６" is 123456). Anything else, or
// not six digits, is ErrMalformedCode. The code space and the lockout after
// wrong codes are unchanged.
func ParseCode(s string) (string, error) {
	d, ok := normalize.Digits(s)
	if !ok || len(d) != 6 {
		return "", ErrMalformedCode
	}
	return d, nil
}

// HashToken is the stored form of a link token. A plain SHA-256 is enough:
// the token has 256 bits of entropy, so a leaked hash cannot be inverted by
// guessing. It is also the lookup key of the token index.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Hasher computes the keyed hashes that must not be reversible offline.
type Hasher struct{ pepper []byte }

// NewHasher returns a Hasher keyed with pepper, a server-side secret kept out
// of the database (configuration / secret store), at least 32 bytes long.
func NewHasher(pepper []byte) (Hasher, error) {
	if len(pepper) < 32 {
		return Hasher{}, ErrWeakPepper
	}
	return Hasher{pepper: append([]byte(nil), pepper...)}, nil
}

// Keyed reports whether h was built by NewHasher (the zero Hasher is unusable).
func (h Hasher) Keyed() bool { return len(h.pepper) >= 32 }

// CodeMAC is the stored form of a 6-digit code: HMAC-SHA-256 keyed with the
// pepper over the challenge id and the code. A code has only 10^6 values, so
// an unkeyed hash (even salted) taken from a leaked table is reversed in 10^6
// tries; without the pepper, which never sits in the database, the table is
// useless. Binding the challenge id makes equal codes of two challenges differ.
func (h Hasher) CodeMAC(challengeID, code string) []byte {
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte("email-ownership/code/v1\x00"))
	m.Write([]byte(challengeID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// AddressKey is the pseudonymous key of an address for lookups and resend
// throttling: keyed so that throttle rows for addresses typed into the public
// resend form do not store those addresses.
func (h Hasher) AddressKey(address string) string {
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte("email-ownership/address/v1\x00"))
	m.Write([]byte(strings.ToLower(strings.TrimSpace(address))))
	return hex.EncodeToString(m.Sum(nil))
}

// NormalizeAddress validates a bare addr-spec (no display name) and lower-cases
// it: mailbox providers treat addresses case-insensitively in practice, and a
// resend by address must find the challenge whatever the case typed.
func NormalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", ErrInvalidAddress
	}
	return strings.ToLower(s), nil
}

// Language is the language of the mail and the pages.
type Language string

// Supported languages.
const (
	LanguageJA Language = "ja"
	LanguageEN Language = "en"
)

// ParseLanguage accepts ja or en; empty falls back on the market (Japan → ja).
func ParseLanguage(s, market string) (Language, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ja":
		return LanguageJA, nil
	case "en":
		return LanguageEN, nil
	case "":
		if strings.EqualFold(market, "JP") {
			return LanguageJA, nil
		}
		return LanguageEN, nil
	}
	return "", ErrInvalidLanguage
}
