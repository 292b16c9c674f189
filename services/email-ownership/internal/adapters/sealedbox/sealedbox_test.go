package sealedbox_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"github.com/partnerhub/onboarding/services/emailownership/internal/adapters/sealedbox"
)

func TestSealer(t *testing.T) {
	for _, bad := range []string{"", "%%%", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := sealedbox.NewSealer(bad); !errors.Is(err, sealedbox.ErrBadKey) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	pub, priv, _ := box.GenerateKey(rand.Reader)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		s, err := sealedbox.NewSealer(enc.EncodeToString(pub[:]))
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.Seal([]byte("secret"))
		b, _ := s.Seal([]byte("secret"))
		if bytes.Equal(a, b) || bytes.Contains(a, []byte("secret")) {
			t.Fatal("sealing is deterministic or leaks the plaintext")
		}
		if got, ok := box.OpenAnonymous(nil, a, pub, priv); !ok || string(got) != "secret" {
			t.Fatal("cannot open")
		}
	}
}
