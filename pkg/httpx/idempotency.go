package httpx

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// The headers of a creating request a client may retry: it names itself
// with IdempotencyKeyHeader, and the answer replayed for a retry carries
// ReplayedHeader: true.
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	ReplayedHeader       = "Idempotent-Replayed"
)

// Codes of a refused Idempotency-Key (422).
const (
	CodeIdempotencyKeyInvalid = "idempotency.key_invalid"
	CodeIdempotencyKeyReused  = "idempotency.key_reused"
)

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes.
const MaxIdempotencyKey = 255

// IdempotencyKey reads r's Idempotency-Key: "" when there is none. A key
// longer than MaxIdempotencyKey or with a byte that is not printable ASCII
// is refused at header.Idempotency-Key (it is stored and compared as text:
// a byte that is not UTF-8 made the claim's insert fail, and the caller got
// a 500).
func IdempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get(IdempotencyKeyHeader)
	valid := len(key) <= MaxIdempotencyKey
	for i := 0; valid && i < len(key); i++ {
		valid = key[i] >= 0x20 && key[i] <= 0x7e
	}
	if !valid {
		const msg = "Idempotency-Key must be at most 255 characters of printable ASCII"
		return "", apperr.Invalid(CodeIdempotencyKeyInvalid, msg,
			apperr.FieldError{Field: "header." + IdempotencyKeyHeader, Code: CodeIdempotencyKeyInvalid, Message: msg})
	}
	return key, nil
}

// RequestDigest is what a retry under an Idempotency-Key must match of the
// key's first request: its method, path and body (SHA-256, hex).
func RequestDigest(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// IdempotencyKeyReused is the refusal of a request whose Idempotency-Key
// was used before with another request.
func IdempotencyKeyReused() error {
	return apperr.Invalid(CodeIdempotencyKeyReused, "this Idempotency-Key was used with a different request body; use a new key")
}
