package httpx

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

func TestIdempotencyKeyIsPrintableASCIIOfAtMost255Bytes(t *testing.T) {
	for key, ok := range map[string]bool{
		"":                         true,
		"k-1":                      true,
		strings.Repeat("a", 255):   true,
		strings.Repeat("a", 256):   false,
		"caf\u00e9":                false,
		"tab\there":                false,
		"nul\x00":                  false,
		"\xff":                     false,
		"~ !\"#$%&'()*+,-./0-9:;<": true,
	} {
		r := httptest.NewRequest("POST", "/v1/x", nil)
		r.Header.Set(IdempotencyKeyHeader, key)
		got, err := IdempotencyKey(r)
		if ok != (err == nil) {
			t.Fatalf("key %q: err %v, want valid %v", key, err, ok)
		}
		if ok && got != key {
			t.Fatalf("key %q read as %q", key, got)
		}
		var ae *apperr.Error
		if !ok && (!errors.As(err, &ae) || ae.Code != CodeIdempotencyKeyInvalid || len(ae.Fields) != 1 || ae.Fields[0].Field != "header.Idempotency-Key") {
			t.Fatalf("key %q: %#v, want %s at header.Idempotency-Key", key, err, CodeIdempotencyKeyInvalid)
		}
	}
}

func TestRequestDigestTellsMethodPathAndBodyApart(t *testing.T) {
	d := func(method, path, body string) string {
		return RequestDigest(httptest.NewRequest(method, path, nil), []byte(body))
	}
	base := d("POST", "/v1/a", `{"x":1}`)
	if base != d("POST", "/v1/a?q=1", `{"x":1}`) {
		t.Fatal("the query string changed the digest")
	}
	for _, other := range []string{d("PUT", "/v1/a", `{"x":1}`), d("POST", "/v1/b", `{"x":1}`), d("POST", "/v1/a", `{"x":2}`)} {
		if other == base {
			t.Fatal("two different requests have one digest")
		}
	}
}
