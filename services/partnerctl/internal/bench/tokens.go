package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// The development issuer and audience every service accepts by default
// (AUTH_ISSUER, AUTH_AUDIENCE; pkg/auth/CLAIMS.md).
const (
	tokenIssuer   = "https://auth.partnerhub.local"
	tokenAudience = "partnerhub"
)

// Tokens mints bearer tokens in the claims contract of pkg/auth/CLAIMS.md
// (ES256, kid from the JWKS file the services are given as AUTH_JWKS_FILE).
// It is written against that contract alone, not against pkg/auth, so that
// the benchmark measures any build of the services that honours it.
type Tokens struct {
	key *ecdsa.PrivateKey
	kid string
}

// Principal is who a token speaks for.
type Principal struct {
	Subject   string
	Name      string
	PartnerID string
	Roles     []string
	Service   bool // kind "service" (an upstream system, a verifier bot)
}

// NewTokens creates a signing key and writes its public JWKS to jwksPath.
func NewTokens(jwksPath string) (*Tokens, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pub, err := key.PublicKey.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(pub)
	t := &Tokens{key: key, kid: "bench-" + hex.EncodeToString(sum[:8])}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "x": b64(pub[1:33]), "y": b64(pub[33:65]),
		"kid": t.kid, "alg": "ES256", "use": "sig",
	}}}
	data, err := json.MarshalIndent(jwks, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(jwksPath, data, 0o644); err != nil {
		return nil, fmt.Errorf("write JWKS: %w", err)
	}
	return t, nil
}

// Mint signs a token for p valid for ttl.
func (t *Tokens) Mint(p Principal, ttl time.Duration) (string, error) {
	now := time.Now().Truncate(time.Second)
	kind := "user"
	if p.Service {
		kind = "service"
	}
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	claims := map[string]any{
		"iss": tokenIssuer, "aud": []string{tokenAudience}, "sub": p.Subject,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": hex.EncodeToString(jti[:]),
		"roles": p.Roles, "kind": kind,
	}
	if !p.Service {
		// People sign in with multi-factor authentication, which the
		// privileged partner actions (accepting an agreement) require.
		claims["amr"] = []string{"pwd", "mfa"}
	}
	if p.Name != "" {
		claims["name"] = p.Name
	}
	if p.PartnerID != "" {
		claims["partner_id"] = p.PartnerID
	}
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": t.kid})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signing := b64(header) + "." + b64(body)
	h := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, t.key, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64) // JWS ES256: R ‖ S, 32 bytes each
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + b64(sig), nil
}
