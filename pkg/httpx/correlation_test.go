package httpx_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/httpx"
)

// TestRequestStartsAConversation: a request's id (the caller's X-Request-Id,
// or a new one when it is not printable ASCII of at most 128 bytes) is the
// correlation id its use case's events inherit.
func TestRequestStartsAConversation(t *testing.T) {
	var seen string
	h := httpx.Middleware(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = ce.CauseFrom(r.Context()).CorrelationID
	}))
	for given, kept := range map[string]bool{"req-from-caller-1": true, "": false,
		// Not UTF-8 (Postgres refused it in the outbox: a 500), a space,
		// too long: replaced by a fresh id.
		"abc\xff\xfedef": false, "two words": false, strings.Repeat("x", 129): false} {
		req := httptest.NewRequest("POST", "/v1/things", nil)
		if given != "" {
			req.Header.Set("X-Request-Id", given)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		rid := rec.Header().Get("X-Request-Id")
		if !httpx.ValidRequestID(rid) || seen != rid || (rid == given) != kept {
			t.Errorf("given %q: response id %q, correlation id in the handler %q", given, rid, seen)
		}
	}
}
