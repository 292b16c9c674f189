package sealedbox_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/sealedbox"
)

func TestOpener(t *testing.T) {
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(make([]byte, 31))} {
		if _, err := sealedbox.NewOpener(bad); !errors.Is(err, sealedbox.ErrBadKey) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	pubB64, privB64, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o, err := sealedbox.NewOpener(privB64)
	if err != nil || o.PublicKey() != pubB64 {
		t.Fatalf("derived public key %q, want %q (%v)", o.PublicKey(), pubB64, err)
	}
	var pub [32]byte
	raw, _ := base64.StdEncoding.DecodeString(pubB64)
	copy(pub[:], raw)
	sealed, _ := box.SealAnonymous(nil, []byte("secret"), &pub, rand.Reader)
	if got, err := o.Open(sealed); err != nil || string(got) != "secret" {
		t.Fatalf("open: %q %v", got, err)
	}
	sealed[0] ^= 1
	if _, err := o.Open(sealed); !errors.Is(err, sealedbox.ErrCannotOpen) {
		t.Fatalf("tampered: %v", err)
	}
}
