package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Development key files and where they live.
const (
	DevKeysEnv        = "PARTNERHUB_DEV_KEYS" // overrides the directory
	DevKeysRelDir     = ".run/dev-keys"       // under the repository root
	devPrivateKeyFile = "signing-key.jwk.json"
	devJWKSFile       = "jwks.json"
)

// DevJWKSPath is the public JWKS that EnsureDevKeys writes into dir.
func DevJWKSPath(dir string) string { return filepath.Join(dir, devJWKSFile) }

// DevPrivateKeyPath is the private signing key EnsureDevKeys keeps in dir.
func DevPrivateKeyPath(dir string) string { return filepath.Join(dir, devPrivateKeyFile) }

// DevKeysDir is where development keys live: $PARTNERHUB_DEV_KEYS if set,
// else .run/dev-keys under the repository root (the nearest directory above
// the working directory holding go.work), else under the working directory.
func DevKeysDir() string {
	if d := os.Getenv(DevKeysEnv); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return DevKeysRelDir
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return filepath.Join(d, DevKeysRelDir)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return filepath.Join(wd, DevKeysRelDir)
		}
		d = parent
	}
}

// Signer mints development tokens with a private key. Production tokens
// come from an identity provider; nothing in a service signs tokens.
type Signer struct {
	key jwk.Key
	kid string
	alg jwa.SignatureAlgorithm
	// Now is the clock of Mint; tests set it to mint expired tokens.
	Now func() time.Time
}

// EnsureDevKeys returns the Signer of dir, creating (once) an ES256 private
// JWK (mode 0600) and the public jwks.json next to it. Concurrent callers
// agree on one key: the private file is published with a hard link, which
// fails if another process got there first.
func EnsureDevKeys(dir string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create dev key dir: %w", err)
	}
	privPath := DevPrivateKeyPath(dir)
	if _, err := os.Stat(privPath); errors.Is(err, fs.ErrNotExist) {
		if err := createPrivateKey(dir, privPath); err != nil {
			return nil, err
		}
	}
	s, err := loadSigner(privPath)
	if err != nil {
		return nil, err
	}
	if err := s.writeJWKS(DevJWKSPath(dir)); err != nil {
		return nil, err
	}
	return s, nil
}

func createPrivateKey(dir, privPath string) error {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate dev key: %w", err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return fmt.Errorf("import dev key: %w", err)
	}
	if err := jwk.AssignKeyID(key); err != nil {
		return fmt.Errorf("assign kid: %w", err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.ES256()); err != nil {
		return err
	}
	if err := key.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return err
	}
	data, err := json.MarshalIndent(key, "", "  ")
	if err != nil {
		return fmt.Errorf("encode dev key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*")
	if err != nil {
		return fmt.Errorf("write dev key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write dev key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write dev key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write dev key: %w", err)
	}
	if err := os.Link(tmp.Name(), privPath); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("publish dev key: %w", err)
	}
	return nil
}

func loadSigner(privPath string) (*Signer, error) {
	data, err := os.ReadFile(privPath)
	if err != nil {
		return nil, fmt.Errorf("read dev key: %w", err)
	}
	key, err := jwk.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("parse dev key %s: %w", privPath, err)
	}
	if priv, err := jwk.IsPrivateKey(key); err != nil || !priv {
		return nil, fmt.Errorf("dev key %s is not a private key", privPath)
	}
	kid, ok := key.KeyID()
	if !ok || kid == "" {
		return nil, fmt.Errorf("dev key %s has no kid", privPath)
	}
	alg := jwa.ES256()
	if ka, ok := key.Algorithm(); ok {
		if alg, ok = jwa.LookupSignatureAlgorithm(ka.String()); !ok || !supportedAlgorithms[alg.String()] {
			return nil, fmt.Errorf("dev key %s has unsupported alg %q", privPath, ka)
		}
	}
	return &Signer{key: key, kid: kid, alg: alg, Now: time.Now}, nil
}

// KeyID is the kid of the signing key, as listed in the JWKS.
func (s *Signer) KeyID() string { return s.kid }

// PublicJWKS returns the JWKS document holding the public half of the key.
func (s *Signer) PublicJWKS() ([]byte, error) {
	pub, err := s.key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public dev key: %w", err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	return json.MarshalIndent(set, "", "  ")
}

func (s *Signer) writeJWKS(path string) error {
	data, err := s.PublicJWKS()
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	// A unique temp file and a rename: a verifier re-reading the file never
	// sees half a document, and concurrent writers do not clobber each other.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".jwks-*")
	if err != nil {
		return fmt.Errorf("write JWKS: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		return fmt.Errorf("write JWKS: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write JWKS: %w", err)
	}
	return nil
}

// Mint signs a token for p (subject, name, e-mail, partner, roles, kind)
// valid for ttl from now, in the claims contract the Verifier reads.
func (s *Signer) Mint(p Principal, issuer, audience string, ttl time.Duration) (string, error) {
	var errs []error
	if p.Subject == "" {
		errs = append(errs, errors.New("subject is required"))
	}
	if issuer == "" || audience == "" {
		errs = append(errs, errors.New("issuer and audience are required"))
	}
	if ttl <= 0 {
		errs = append(errs, fmt.Errorf("ttl %s must be positive", ttl))
	}
	for _, r := range p.Roles {
		if !slices.Contains(KnownRoles, r) {
			errs = append(errs, fmt.Errorf("unknown role %q", r))
		}
	}
	if p.Kind != "" && p.Kind != KindUser && p.Kind != KindService {
		errs = append(errs, fmt.Errorf("unknown kind %q", p.Kind))
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	now := s.Now().Truncate(time.Second)
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		roles[i] = string(r)
	}
	kind := p.Kind
	if kind == "" {
		kind = KindUser
	}
	b := jwt.NewBuilder().
		Issuer(issuer).Audience([]string{audience}).Subject(p.Subject).
		IssuedAt(now).NotBefore(now).Expiration(now.Add(ttl)).JwtID(hex.EncodeToString(jti[:])).
		Claim(ClaimRoles, roles).Claim(ClaimKind, string(kind))
	if len(p.AMR) > 0 {
		b = b.Claim(ClaimAMR, p.AMR)
	}
	for name, v := range map[string]string{ClaimName: p.Name, ClaimEmail: p.Email, ClaimPartnerID: p.PartnerID} {
		if v != "" {
			b = b.Claim(name, v)
		}
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(s.alg, s.key))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}

// EnsureDevSecret returns the development secret kept in dir/file (n
// random bytes, stored as base64), creating it on first use. Concurrent
// callers agree: the file is created with a hard link, which fails if it
// exists. Never use this outside local development.
func EnsureDevSecret(dir, file string, n int) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, file)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, n)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		tmp, err := os.CreateTemp(dir, "."+file+"-*")
		if err != nil {
			return nil, err
		}
		_, werr := tmp.WriteString(base64.StdEncoding.EncodeToString(b) + "\n")
		cerr := tmp.Close()
		if werr == nil && cerr == nil {
			if err := os.Link(tmp.Name(), path); err != nil && !os.IsExist(err) {
				werr = err
			}
		}
		_ = os.Remove(tmp.Name())
		if werr != nil || cerr != nil {
			return nil, errors.Join(werr, cerr)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(b) != n {
		return nil, fmt.Errorf("%s does not hold %d base64 bytes", path, n)
	}
	return b, nil
}
