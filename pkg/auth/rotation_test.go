package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestKeyRotationFile: a token with a kid not yet in the JWKS file is
// refused; once the file lists the new key, the next unknown-kid refresh
// picks it up, and refreshes are rate-limited in between.
func TestKeyRotationFile(t *testing.T) {
	clock := &fakeClock{now: t0}
	oldSigner, dir := mustDevKeys(t, clock)
	newSigner, _ := mustDevKeys(t, clock)
	if oldSigner.KeyID() == newSigner.KeyID() {
		t.Fatal("two dev keys share a kid")
	}
	v := mustVerifier(t, DevConfig(dir), clock)
	p := Principal{Subject: "user-1"}
	tok, err := newSigner.Mint(p, DevIssuer, DevAudience, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	// 1. Unknown kid: one refresh happens, the key is still not there.
	if _, err := v.Verify(context.Background(), tok); codeOf(err) != CodeTokenInvalid {
		t.Fatalf("token of an unpublished key: err = %v, want %s", err, CodeTokenInvalid)
	}
	// 2. The provider rotates: both keys are published.
	writeJWKS(t, DevJWKSPath(dir), oldSigner, newSigner)
	// 3. Within MinRefreshInterval no second reload happens.
	clock.Advance(DefaultMinRefreshInterval / 2)
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("JWKS was reloaded again within MinRefreshInterval")
	}
	// 4. After the interval the unknown kid triggers a reload that finds it.
	clock.Advance(DefaultMinRefreshInterval)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
	// The old key keeps working while it is listed.
	old, _ := oldSigner.Mint(p, DevIssuer, DevAudience, time.Hour)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("old key refused after rotation: %v", err)
	}
}

// TestKeyRotationFirstUnknownKidRefreshesAtOnce: the first unknown kid after
// start reloads without waiting for any interval.
func TestKeyRotationFirstUnknownKidRefreshesAtOnce(t *testing.T) {
	clock := &fakeClock{now: t0}
	oldSigner, dir := mustDevKeys(t, clock)
	newSigner, _ := mustDevKeys(t, clock)
	v := mustVerifier(t, DevConfig(dir), clock)
	writeJWKS(t, DevJWKSPath(dir), oldSigner, newSigner)
	tok, _ := newSigner.Mint(Principal{Subject: "user-1"}, DevIssuer, DevAudience, time.Hour)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
}

// jwksServer serves the JWKS of the current signers over TLS and counts fetches.
type jwksServer struct {
	mu      sync.Mutex
	signers []*Signer
	hits    atomic.Int32
	srv     *httptest.Server
}

func newJWKSServer(t *testing.T, signers ...*Signer) *jwksServer {
	j := &jwksServer{signers: signers}
	j.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.hits.Add(1)
		j.mu.Lock()
		defer j.mu.Unlock()
		path := filepath.Join(t.TempDir(), "jwks.json")
		writeJWKS(t, path, j.signers...)
		http.ServeFile(w, r, path)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) publish(signers ...*Signer) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.signers = signers
}

func TestKeyRotationURL(t *testing.T) {
	clock := &fakeClock{now: t0}
	oldSigner, _ := mustDevKeys(t, clock)
	newSigner, _ := mustDevKeys(t, clock)
	js := newJWKSServer(t, oldSigner)
	v := mustVerifier(t, Config{JWKSURL: js.srv.URL + "/jwks.json", Issuer: DevIssuer, Audience: DevAudience,
		HTTPClient: js.srv.Client()}, clock)

	p := Principal{Subject: "user-1"}
	old, _ := oldSigner.Mint(p, DevIssuer, DevAudience, time.Hour)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	hitsBefore := js.hits.Load()
	// Known kid: served from the cache, no fetch.
	if _, err := v.Verify(context.Background(), old); err != nil || js.hits.Load() != hitsBefore {
		t.Fatalf("known kid refetched the JWKS (err %v, hits %d → %d)", err, hitsBefore, js.hits.Load())
	}

	js.publish(oldSigner, newSigner)
	tok, _ := newSigner.Mint(p, DevIssuer, DevAudience, time.Hour)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("rotated key not picked up from URL: %v", err)
	}
	if got := js.hits.Load() - hitsBefore; got != 1 {
		t.Fatalf("unknown kid caused %d fetches, want exactly 1", got)
	}
	// Random kids within the interval do not reach the provider.
	stranger, _ := mustDevKeys(t, clock)
	bad, _ := stranger.Mint(p, DevIssuer, DevAudience, time.Hour)
	for range 5 {
		if _, err := v.Verify(context.Background(), bad); codeOf(err) != CodeTokenInvalid {
			t.Fatalf("stranger's token: err = %v", err)
		}
	}
	if got := js.hits.Load() - hitsBefore; got != 1 {
		t.Fatalf("unknown kids within MinRefreshInterval caused %d fetches in all, want 1", got)
	}
}

// TestVerifiedTokenCache: a token verified once is remembered, so the same
// token again skips the signature check; the remembered token still expires
// on time and is refused as soon as its signing key leaves the JWKS.
func TestVerifiedTokenCache(t *testing.T) {
	clock := &fakeClock{now: t0}
	oldSigner, dir := mustDevKeys(t, clock)
	newSigner, _ := mustDevKeys(t, clock)
	writeJWKS(t, DevJWKSPath(dir), oldSigner, newSigner)
	v := mustVerifier(t, DevConfig(dir), clock)
	ctx := context.Background()

	want := Principal{Subject: "user-1", Roles: []Role{RolePartnerAdmin}, AMR: []string{"pwd", "mfa"}}
	tok, err := oldSigner.Mint(want, DevIssuer, DevAudience, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	first, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if v.verified.Len() != 1 {
		t.Fatalf("verified tokens remembered = %d, want 1", v.verified.Len())
	}
	first.Roles[0] = RoleVerifier // a caller changing its copy must not change the cache
	again, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if again.Subject != "user-1" || !equalRoles(again.Roles, want.Roles) || len(again.AMR) != 2 {
		t.Fatalf("remembered principal = %+v, want %+v", again, want)
	}

	// Past exp plus the skew the remembered token is refused as expired.
	clock.Advance(10*time.Minute + DefaultClockSkew + time.Second)
	if _, err := v.Verify(ctx, tok); codeOf(err) != CodeTokenExpired {
		t.Fatalf("remembered token after exp: err = %v, want %s", err, CodeTokenExpired)
	}
	if v.verified.Len() != 0 {
		t.Fatal("an expired token stayed remembered")
	}

	// A key withdrawn from the JWKS takes its remembered tokens with it.
	tok, _ = oldSigner.Mint(want, DevIssuer, DevAudience, time.Hour)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	writeJWKS(t, DevJWKSPath(dir), newSigner)
	clock.Advance(DefaultMinRefreshInterval + time.Second)
	third, _ := mustDevKeys(t, clock) // an unknown kid makes the verifier reload the JWKS
	unknown, _ := third.Mint(want, DevIssuer, DevAudience, time.Hour)
	if _, err := v.Verify(ctx, unknown); err == nil {
		t.Fatal("token of an unpublished key accepted")
	}
	if _, err := v.Verify(ctx, tok); codeOf(err) != CodeTokenInvalid {
		t.Fatalf("remembered token of a withdrawn key: err = %v, want %s", err, CodeTokenInvalid)
	}
}
