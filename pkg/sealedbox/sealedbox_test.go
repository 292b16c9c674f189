package sealedbox_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/partnerhub/onboarding/pkg/sealedbox"
)

func TestKeysAreValidated(t *testing.T) {
	for _, bad := range []string{"", "%%%", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := sealedbox.NewSealer(bad); !errors.Is(err, sealedbox.ErrBadKey) {
			t.Errorf("sealer accepted %q: %v", bad, err)
		}
		if _, err := sealedbox.NewOpener(bad); !errors.Is(err, sealedbox.ErrBadKey) {
			t.Errorf("opener accepted %q: %v", bad, err)
		}
	}
}

func TestSealAndOpen(t *testing.T) {
	pub, priv, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o, err := sealedbox.NewOpener(priv)
	if err != nil || o.PublicKey() != pub {
		t.Fatalf("opener derives %q, want %q (%v)", o.PublicKey(), pub, err)
	}
	rawURL := base64.RawURLEncoding.EncodeToString(mustDecode(t, pub))
	for _, key := range []string{pub, rawURL} {
		s, err := sealedbox.NewSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.SealPayload(sealedbox.Payload{ChallengeID: "ch-1", Token: "tok", Code: "123456"})
		b, _ := s.SealPayload(sealedbox.Payload{ChallengeID: "ch-1", Token: "tok", Code: "123456"})
		if bytes.Equal(a, b) || bytes.Contains(a, []byte("tok")) || bytes.Contains(a, []byte("123456")) {
			t.Fatal("sealing is deterministic or leaks the clear text")
		}
		p, err := o.OpenPayload(a, "ch-1")
		if err != nil || p.Token != "tok" || p.Code != "123456" || p.V != sealedbox.PayloadVersion {
			t.Fatalf("open: %+v %v", p, err)
		}
		if _, err := o.OpenPayload(a, "ch-2"); !errors.Is(err, sealedbox.ErrBadPayload) {
			t.Fatalf("blob replayed into another challenge: %v", err)
		}
		a[len(a)-1] ^= 1
		if _, err := o.Open(a); !errors.Is(err, sealedbox.ErrCannotOpen) {
			t.Fatalf("tampered blob opened: %v", err)
		}
	}
	_, other, _ := sealedbox.GenerateKey()
	o2, _ := sealedbox.NewOpener(other)
	s, _ := sealedbox.NewSealer(pub)
	c, _ := s.Seal([]byte("x"))
	if _, err := o2.Open(c); !errors.Is(err, sealedbox.ErrCannotOpen) {
		t.Fatal("opened with the wrong key")
	}
}

func TestEnsureDevKeyPairIsStableAndRaceFree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev-keys")
	var wg sync.WaitGroup
	pubs := make([]string, 8)
	for i := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub, _, err := sealedbox.EnsureDevKeyPair(dir)
			if err != nil {
				t.Error(err)
			}
			pubs[i] = pub
		}()
	}
	wg.Wait()
	for _, p := range pubs {
		if p != pubs[0] || p == "" {
			t.Fatalf("concurrent callers got different pairs: %v", pubs)
		}
	}
	again, priv, err := sealedbox.EnsureDevKeyPair(dir)
	if err != nil || again != pubs[0] {
		t.Fatalf("second run made a new pair: %v", err)
	}
	file, _ := os.ReadFile(filepath.Join(dir, sealedbox.DevPublicKeyFile))
	if string(bytes.TrimSpace(file)) != again {
		t.Fatalf("public key file %q", file)
	}
	if o, _ := sealedbox.NewOpener(priv); o.PublicKey() != again {
		t.Fatal("private key does not match public key")
	}
}

func mustDecode(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
