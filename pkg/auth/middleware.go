package auth

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/normalize"
)

// HeaderRequestID carries the request id, taken from the caller when sane
// and echoed on the response.
const HeaderRequestID = "X-Request-Id"

// Middleware authenticates every request with a bearer JWT. A missing or
// bad token is answered 401 with an RFC 6750 challenge and a problem
// document (never 500); on success the Principal, with the request facts
// for the audit trail, is put into the request context.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := requestID(r)
		w.Header().Set(HeaderRequestID, reqID)
		token, ok := bearerToken(r)
		if !ok {
			v.challenge(w, r, apperr.New(apperr.KindUnauthenticated, CodeTokenMissing, "a bearer token is required"))
			return
		}
		p, err := v.Verify(r.Context(), token)
		if err != nil {
			v.challenge(w, r, err)
			return
		}
		p.SourceIP = ClientIP(r, v.cfg.TrustedProxies)
		p.UserAgent = UserAgent(r.UserAgent())
		p.RequestID = reqID
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// MaxUserAgent bounds the User-Agent kept with a principal.
const MaxUserAgent = 512

// UserAgent is a caller's User-Agent as the audit trail keeps it (audit
// rows, an acceptance's evidence), clipped like any text from elsewhere:
// HTTP lets a header carry any byte, and Postgres refused such a text, so
// every audited write answered 500.
func UserAgent(ua string) string { return normalize.Clip(ua, MaxUserAgent) }

// challenge writes the 401 itself rather than through httpx.WriteError,
// whose generic challenge would replace the error details. Per RFC 6750
// §3.1 a request without credentials gets no error code.
func (v *Verifier) challenge(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != apperr.KindUnauthenticated {
		ae = invalidToken("the token could not be verified", err)
	}
	h := `Bearer realm="` + quoteSafe(v.cfg.Realm) + `"`
	if ae.Code != CodeTokenMissing {
		h += `, error="invalid_token", error_description="` + quoteSafe(ae.Message) + `"`
	}
	w.Header().Set("WWW-Authenticate", h)
	p := httpx.ProblemFrom(ae)
	p.Instance = r.URL.Path
	httpx.WriteProblem(w, p)
}

// bearerToken extracts the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// requestID returns the id httpx.Middleware already assigned, else the
// caller's X-Request-Id if httpx.ValidRequestID takes it (it lands in logs
// and audit rows), else a fresh random id.
func requestID(r *http.Request) string {
	if id := httpx.RequestID(r.Context()); id != "" {
		return id
	}
	if id := r.Header.Get(HeaderRequestID); httpx.ValidRequestID(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// quoteSafe keeps a value legal inside an auth-param quoted string
// (RFC 6750 limits error_description to %x20-21 / %x23-5B / %x5D-7E).
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
