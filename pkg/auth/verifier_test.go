package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock shared by signer and verifier.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mustDevKeys returns a signer whose keys live in a fresh temp dir.
func mustDevKeys(t *testing.T, clock *fakeClock) (*Signer, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := EnsureDevKeys(dir)
	if err != nil {
		t.Fatalf("EnsureDevKeys: %v", err)
	}
	s.Now = clock.Now
	return s, dir
}

func mustVerifier(t *testing.T, cfg Config, clock *fakeClock) *Verifier {
	t.Helper()
	cfg.Now = clock.Now
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { _ = v.Close(context.Background()) })
	return v
}

// signRaw signs arbitrary claims, for the tokens Mint refuses to make.
func signRaw(t *testing.T, alg jwa.SignatureAlgorithm, key any, kid string, build func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	tok, err := build(jwt.NewBuilder()).Build()
	if err != nil {
		t.Fatal(err)
	}
	h := jws.NewHeaders()
	if kid != "" {
		_ = h.Set(jws.KeyIDKey, kid)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func validClaims(b *jwt.Builder) *jwt.Builder {
	return b.Issuer(DevIssuer).Audience([]string{DevAudience}).Subject("user-1").
		IssuedAt(t0).NotBefore(t0).Expiration(t0.Add(time.Hour))
}

func codeOf(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Code
	}
	return "<not an apperr>"
}

func TestVerify(t *testing.T) {
	clock := &fakeClock{now: t0}
	signer, dir := mustDevKeys(t, clock)
	v := mustVerifier(t, DevConfig(dir), clock)
	user := Principal{Subject: "user-1", Name: "Ann", Email: "ann@example.com", PartnerID: "PG-0001", Roles: []Role{RolePartnerAdmin}}

	mint := func(p Principal, iss, aud string, at time.Time, ttl time.Duration) string {
		s := *signer
		s.Now = func() time.Time { return at }
		tok, err := s.Mint(p, iss, aud, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherRaw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hmacKey, _ := jwk.Import([]byte("a-shared-secret-that-is-long-enough-for-hs256"))
	noneTok := func() string {
		tok, _ := validClaims(jwt.NewBuilder()).Build()
		b, err := jwt.Sign(tok, jwt.WithInsecureNoSignature())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}()

	tests := []struct {
		name     string
		token    string
		wantCode string // "" means accepted
		wantMsg  string
	}{
		{name: "valid", token: mint(user, DevIssuer, DevAudience, t0, time.Hour)},
		{name: "expired", token: mint(user, DevIssuer, DevAudience, t0.Add(-2*time.Hour), time.Hour), wantCode: CodeTokenExpired},
		{name: "expired within skew is accepted", token: mint(user, DevIssuer, DevAudience, t0.Add(-time.Hour-20*time.Second), time.Hour)},
		{name: "nbf beyond skew", wantCode: CodeTokenInvalid, wantMsg: "not valid yet",
			token: signRaw(t, jwa.ES256(), signer.key, signer.kid, func(b *jwt.Builder) *jwt.Builder {
				return validClaims(b).NotBefore(t0.Add(2 * time.Minute))
			})},
		{name: "nbf within skew", token: signRaw(t, jwa.ES256(), signer.key, signer.kid, func(b *jwt.Builder) *jwt.Builder {
			return validClaims(b).NotBefore(t0.Add(20 * time.Second))
		})},
		{name: "wrong issuer", token: mint(user, "https://evil.example", DevAudience, t0, time.Hour), wantCode: CodeTokenInvalid, wantMsg: "issuer"},
		{name: "wrong audience", token: mint(user, DevIssuer, "someone-else", t0, time.Hour), wantCode: CodeTokenInvalid, wantMsg: "audience"},
		{name: "alg none", token: noneTok, wantCode: CodeTokenInvalid},
		{name: "HS256 with the trusted kid", wantCode: CodeTokenInvalid, wantMsg: "algorithm",
			token: signRaw(t, jwa.HS256(), hmacKey, signer.kid, validClaims)},
		{name: "signed by another key under the trusted kid", wantCode: CodeTokenInvalid, wantMsg: "signature",
			token: signRaw(t, jwa.ES256(), otherRaw, signer.kid, validClaims)},
		{name: "signed by another key with its own kid", wantCode: CodeTokenInvalid, wantMsg: "unknown key",
			token: signRaw(t, jwa.ES256(), otherRaw, "stranger", validClaims)},
		{name: "no kid", wantCode: CodeTokenInvalid, wantMsg: "kid",
			token: signRaw(t, jwa.ES256(), rawKey(t, signer), "", validClaims)},
		{name: "no exp", wantCode: CodeTokenInvalid, wantMsg: "required claim",
			token: signRaw(t, jwa.ES256(), signer.key, signer.kid, func(b *jwt.Builder) *jwt.Builder {
				return b.Issuer(DevIssuer).Audience([]string{DevAudience}).Subject("u")
			})},
		{name: "roles not an array", wantCode: CodeTokenInvalid, wantMsg: "contract",
			token: signRaw(t, jwa.ES256(), signer.key, signer.kid, func(b *jwt.Builder) *jwt.Builder {
				return validClaims(b).Claim(ClaimRoles, "partner_admin")
			})},
		{name: "amr not an array", wantCode: CodeTokenInvalid, wantMsg: "contract",
			token: signRaw(t, jwa.ES256(), signer.key, signer.kid, func(b *jwt.Builder) *jwt.Builder {
				return validClaims(b).Claim(ClaimAMR, "mfa")
			})},
		{name: "garbage", token: "not.a.jwt", wantCode: CodeTokenInvalid},
		{name: "empty", token: "", wantCode: CodeTokenMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tc.token)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != "user-1" {
					t.Fatalf("subject = %q", p.Subject)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted a token that must be refused")
			}
			if apperr.KindOf(err) != apperr.KindUnauthenticated || codeOf(err) != tc.wantCode {
				t.Fatalf("err = %v (kind %v), want code %s", err, apperr.KindOf(err), tc.wantCode)
			}
			if ae, _ := apperr.As(err); !strings.Contains(ae.Message, tc.wantMsg) {
				t.Fatalf("message %q does not mention %q", ae.Message, tc.wantMsg)
			}
		})
	}
}

func TestVerifyClaimsContract(t *testing.T) {
	clock := &fakeClock{now: t0}
	signer, dir := mustDevKeys(t, clock)
	v := mustVerifier(t, DevConfig(dir), clock)

	tests := []struct {
		name  string
		build func(*jwt.Builder) *jwt.Builder
		want  Principal
	}{
		{
			name: "user with roles, unknown role ignored",
			build: func(b *jwt.Builder) *jwt.Builder {
				return validClaims(b).Claim(ClaimName, "Ann").Claim(ClaimEmail, "ann@example.com").
					Claim(ClaimPartnerID, "PG-0001").Claim(ClaimRoles, []string{"partner_admin", "superuser", "partner_user", "partner_admin"})
			},
			want: Principal{Kind: KindUser, Subject: "user-1", Name: "Ann", Email: "ann@example.com", PartnerID: "PG-0001",
				Roles: []Role{RolePartnerAdmin, RolePartnerUser}},
		},
		{
			name: "service",
			build: func(b *jwt.Builder) *jwt.Builder {
				return validClaims(b).Claim(ClaimKind, "service").Claim(ClaimRoles, []string{"upstream_system"})
			},
			want: Principal{Kind: KindService, Subject: "user-1", Roles: []Role{RoleUpstreamSystem}},
		},
		{
			name:  "no roles",
			build: validClaims,
			want:  Principal{Kind: KindUser, Subject: "user-1", Roles: []Role{}},
		},
		{
			name: "authentication methods",
			build: func(b *jwt.Builder) *jwt.Builder {
				return validClaims(b).Claim(ClaimAMR, []string{"pwd", " mfa ", "pwd", ""})
			},
			want: Principal{Kind: KindUser, Subject: "user-1", Roles: []Role{}, AMR: []string{"pwd", "mfa"}},
		},
		{
			// A display name or address a user typed keeps its text, without
			// what a text column cannot hold or a log line should not carry.
			name: "control characters in the name and address",
			build: func(b *jwt.Builder) *jwt.Builder {
				return validClaims(b).Claim(ClaimName, "Ann\x00 Admin\x07").Claim(ClaimEmail, "ann@example.com\x1b")
			},
			want: Principal{Kind: KindUser, Subject: "user-1", Name: "Ann Admin", Email: "ann@example.com", Roles: []Role{}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), signRaw(t, jwa.ES256(), signer.key, signer.kid, tc.build))
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tc.want.Kind || p.Subject != tc.want.Subject || p.Name != tc.want.Name ||
				p.Email != tc.want.Email || p.PartnerID != tc.want.PartnerID || !equalRoles(p.Roles, tc.want.Roles) ||
				!slices.Equal(p.AMR, tc.want.AMR) {
				t.Fatalf("principal = %+v, want %+v", p, tc.want)
			}
		})
	}
}

// TestVerifyRefusesIdentifierClaimsItCannotStore: a subject, partner id or
// authentication method holding a control character (a NUL in sub made the
// audited write of a registration answer 500) or longer than 256 bytes is
// a token that does not follow the contract: 401 auth.token_invalid.
func TestVerifyRefusesIdentifierClaimsItCannotStore(t *testing.T) {
	clock := &fakeClock{now: t0}
	signer, dir := mustDevKeys(t, clock)
	v := mustVerifier(t, DevConfig(dir), clock)
	for name, build := range map[string]func(*jwt.Builder) *jwt.Builder{
		"NUL in sub":        func(b *jwt.Builder) *jwt.Builder { return validClaims(b).Subject("portal\x00x") },
		"tab in partner_id": func(b *jwt.Builder) *jwt.Builder { return validClaims(b).Claim(ClaimPartnerID, "PG-0001\t") },
		"long sub": func(b *jwt.Builder) *jwt.Builder {
			return validClaims(b).Subject(strings.Repeat("u", MaxClaimLength+1))
		},
		"escape in amr": func(b *jwt.Builder) *jwt.Builder { return validClaims(b).Claim(ClaimAMR, []string{"mfa\x1b[0m"}) },
	} {
		_, err := v.Verify(context.Background(), signRaw(t, jwa.ES256(), signer.key, signer.kid, build))
		if ae, ok := apperr.As(err); !ok || ae.Code != CodeTokenInvalid {
			t.Errorf("%s: %v, want %s", name, err, CodeTokenInvalid)
		}
	}
}

func equalRoles(a, b []Role) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMintRoundTrip: what Mint writes is what Verify reads.
func TestMintRoundTrip(t *testing.T) {
	clock := &fakeClock{now: t0}
	signer, dir := mustDevKeys(t, clock)
	v := mustVerifier(t, DevConfig(dir), clock)
	in := Principal{Kind: KindUser, Subject: "user-9", Name: "Bo", Email: "bo@example.com", PartnerID: "PG-0009",
		Roles: []Role{RoleVerifier, RoleOperator}, AMR: []string{"pwd", "mfa"}}
	tok, err := signer.Mint(in, DevIssuer, DevAudience, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != in.Subject || p.Name != in.Name || p.Email != in.Email || p.PartnerID != in.PartnerID ||
		p.Kind != in.Kind || !equalRoles(p.Roles, in.Roles) || !p.HasMFA() {
		t.Fatalf("got %+v, want %+v", p, in)
	}
	if _, err := signer.Mint(Principal{Subject: "x", Roles: []Role{"root"}}, DevIssuer, DevAudience, time.Hour); err == nil {
		t.Fatal("Mint accepted an unknown role")
	}
}

// writeJWKS publishes the public keys of signers as the JWKS file at path.
func writeJWKS(t *testing.T, path string, signers ...*Signer) {
	t.Helper()
	set := jwk.NewSet()
	for _, s := range signers {
		pub, err := s.key.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		_ = set.AddKey(pub)
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rawKey is the signer's private key without its JWK kid.
func rawKey(t *testing.T, s *Signer) any {
	t.Helper()
	var raw any
	if err := jwk.Export(s.key, &raw); err != nil {
		t.Fatal(err)
	}
	return raw
}
