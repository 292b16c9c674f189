package testkit

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/partnerhub/onboarding/pkg/httpx"
)

// Decoder decodes and checks a request body as one route does before its use
// case runs, returning the error the route would answer with.
type Decoder func(w http.ResponseWriter, r *http.Request) error

// JSONDecoder is the decoder of a route whose body is a T read with
// httpx.DecodeJSON, then checked by check (nil: nothing more).
func JSONDecoder[T any](check func(T) error) Decoder {
	return func(w http.ResponseWriter, r *http.Request) error {
		var v T
		if _, err := httpx.DecodeJSON(w, r, &v); err != nil {
			return err
		}
		if check != nil {
			return check(v)
		}
		return nil
	}
}

// FuzzDecoders is the fuzz target of a service's request decoders, by route:
// whatever the body and its content type, a decoder accepts it or refuses it
// with a precise client error (RequireClientError) — never a 5xx, never a
// panic. Every seed is tried with every decoder.
func FuzzDecoders(f *testing.F, decoders map[string]Decoder, seeds ...string) {
	names := make([]string, 0, len(decoders))
	for n := range decoders {
		names = append(names, n)
	}
	slices.Sort(names)
	for i := range names {
		for _, s := range seeds {
			f.Add(uint8(i), "application/json", []byte(s))
		}
		f.Add(uint8(i), "text/plain", []byte(`{}`))
	}
	f.Fuzz(func(t *testing.T, which uint8, contentType string, body []byte) {
		name := names[int(which)%len(names)]
		r := httptest.NewRequest(http.MethodPost, "/fuzz", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		if err := decoders[name](httptest.NewRecorder(), r); err != nil {
			RequireClientError(t, name, err)
		}
	})
}

// RequireClientError fails t unless err answers as a 4xx RFC 9457 problem
// with a stable code, each field error naming its field and code.
func RequireClientError(t testing.TB, what string, err error) {
	t.Helper()
	p := httpx.ProblemFrom(err)
	if p.Status < 400 || p.Status > 499 || p.Code == "" || p.Code == "internal" {
		t.Fatalf("%s: %v answers %d %q, want a 4xx with a code", what, err, p.Status, p.Code)
	}
	for _, fe := range p.Errors {
		if fe.Field == "" || fe.Code == "" {
			t.Fatalf("%s: field error %+v without field or code", what, fe)
		}
	}
	w := httptest.NewRecorder()
	httpx.WriteError(w, httptest.NewRequest(http.MethodPost, "/fuzz", nil), err)
	if w.Code != p.Status || w.Header().Get("Content-Type") != httpx.ProblemContentType {
		t.Fatalf("%s: written as %d %s", what, w.Code, w.Header().Get("Content-Type"))
	}
}
