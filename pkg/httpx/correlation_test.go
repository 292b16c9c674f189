package httpx_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/httpx"
)

// TestRequestStartsAConversation: a request's id (the caller's X-Request-Id,
// or a new one) is the correlation id its use case's events inherit.
func TestRequestStartsAConversation(t *testing.T) {
	var seen string
	h := httpx.Middleware(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = ce.CauseFrom(r.Context()).CorrelationID
	}))
	for _, given := range []string{"req-from-caller-1", ""} {
		req := httptest.NewRequest("POST", "/v1/things", nil)
		if given != "" {
			req.Header.Set("X-Request-Id", given)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		rid := rec.Header().Get("X-Request-Id")
		if rid == "" || seen != rid || (given != "" && rid != given) {
			t.Errorf("given %q: response id %q, correlation id in the handler %q", given, rid, seen)
		}
	}
}
