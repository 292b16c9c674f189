package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Codes of the errors a Verifier returns (all apperr.KindUnauthenticated).
const (
	CodeTokenMissing = "auth.token_missing"
	CodeTokenInvalid = "auth.token_invalid"
	CodeTokenExpired = "auth.token_expired"
)

// Claim names of the claims contract beyond the registered JWT claims.
const (
	ClaimName      = "name"
	ClaimEmail     = "email"
	ClaimPartnerID = "partner_id"
	ClaimRoles     = "roles"
	ClaimKind      = "kind"
	// ClaimAMR is the authentication methods reference (RFC 8176): the
	// methods the identity provider used, e.g. ["pwd", "mfa"].
	ClaimAMR = "amr"
)

// Reasons a token is refused. They end up, as fixed strings, in the
// problem document and the WWW-Authenticate error_description.
var (
	errNoKid           = errors.New("token header has no kid")
	errUnknownKid      = errors.New("token signed with an unknown key")
	errAlgNotAllowed   = errors.New("token algorithm is not allowed")
	errKeyAlgMismatch  = errors.New("signing key does not fit the token algorithm")
	errKeysUnavailable = errors.New("signing keys are unavailable")
)

// Verifier validates bearer JWTs against a JWKS and turns their claims into
// a Principal. It is safe for concurrent use.
type Verifier struct {
	cfg  Config
	keys keySource
	algs []jwa.SignatureAlgorithm

	refreshMu   sync.Mutex
	lastRefresh time.Time

	// verified remembers tokens whose signature and claims already passed,
	// keyed by the token's SHA-256, so a client that sends the same token
	// with every request pays for one signature check, not one per
	// request. A hit is still checked against the clock (exp, nbf) and
	// against the current JWKS (the signing key must still be there).
	verified *expirable.LRU[[sha256.Size]byte, verifiedToken]
}

// verifiedToken is what the cache keeps of a token that passed.
type verifiedToken struct {
	principal Principal
	kid       string
	notBefore time.Time // zero: no nbf
	expires   time.Time
}

// Sizes of the verified-token cache: entries beyond verifiedCacheSize push
// out the least recently used, and no entry outlives verifiedCacheTTL
// however long its token is valid.
const (
	verifiedCacheSize = 4096
	verifiedCacheTTL  = 5 * time.Minute
)

// NewVerifier loads the JWKS (a file at once, a URL with the first fetch
// under ctx) and returns a Verifier; Close releases the URL cache.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, verified: expirable.NewLRU[[sha256.Size]byte, verifiedToken](verifiedCacheSize, nil, verifiedCacheTTL)}
	for _, name := range cfg.Algorithms {
		a, ok := jwa.LookupSignatureAlgorithm(name)
		if !ok {
			return nil, fmt.Errorf("auth: unknown algorithm %q", name)
		}
		v.algs = append(v.algs, a)
	}
	var err error
	if cfg.JWKSFile != "" {
		v.keys, err = newFileKeys(cfg.JWKSFile)
	} else {
		v.keys, err = newURLKeys(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return v, nil
}

// Close stops the background JWKS refresh.
func (v *Verifier) Close(ctx context.Context) error { return v.keys.Close(ctx) }

// Verify checks token (the compact JWS, without "Bearer ") and returns its
// principal, or an apperr.KindUnauthenticated error coded auth.token_invalid
// or auth.token_expired. Request facts (IP, user agent) are left empty.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, apperr.New(apperr.KindUnauthenticated, CodeTokenMissing, "a bearer token is required")
	}
	sum := sha256.Sum256([]byte(token))
	if p, ok := v.cached(ctx, sum); ok {
		return p, nil
	}
	tok, err := jwt.ParseString(token,
		jwt.WithKeyProvider(keyProvider{v: v}),
		jwt.WithValidate(true),
		jwt.WithContext(ctx),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithAcceptableSkew(v.cfg.ClockSkew),
		jwt.WithClock(jwt.ClockFunc(v.cfg.Now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	)
	if err != nil {
		return Principal{}, tokenError(err)
	}
	p, err := principalFromToken(tok)
	if err != nil {
		return Principal{}, invalidToken(err.Error(), err)
	}
	v.remember(sum, token, tok, p)
	return p, nil
}

// cached returns the principal of a token verified before, if it is still
// within its validity window and its signing key is still published.
// Anything else is a miss: the full check runs and gives the precise error.
func (v *Verifier) cached(ctx context.Context, sum [sha256.Size]byte) (Principal, bool) {
	e, ok := v.verified.Get(sum)
	if !ok {
		return Principal{}, false
	}
	now := v.cfg.Now()
	if !now.Before(e.expires.Add(v.cfg.ClockSkew)) || (!e.notBefore.IsZero() && now.Before(e.notBefore.Add(-v.cfg.ClockSkew))) {
		v.verified.Remove(sum)
		return Principal{}, false
	}
	set, err := v.keys.Current(ctx)
	if err != nil {
		return Principal{}, false
	}
	if _, ok := set.LookupKeyID(e.kid); !ok {
		v.verified.Remove(sum)
		return Principal{}, false
	}
	p := e.principal
	p.Roles = slices.Clone(p.Roles)
	p.AMR = slices.Clone(p.AMR)
	return p, true
}

func (v *Verifier) remember(sum [sha256.Size]byte, token string, tok jwt.Token, p Principal) {
	exp, ok := tok.Expiration()
	if !ok {
		return
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 {
		return
	}
	kid, ok := msg.Signatures()[0].ProtectedHeaders().KeyID()
	if !ok {
		return
	}
	e := verifiedToken{kid: kid, expires: exp}
	e.principal = p
	e.principal.Roles = slices.Clone(p.Roles)
	e.principal.AMR = slices.Clone(p.AMR)
	if nbf, ok := tok.NotBefore(); ok {
		e.notBefore = nbf
	}
	v.verified.Add(sum, e)
}

// tokenError maps a jwx parse/validate failure to a fixed, non-leaky message.
func tokenError(err error) *apperr.Error {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		e := apperr.New(apperr.KindUnauthenticated, CodeTokenExpired, "the token has expired")
		e.Err = err
		return e
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return invalidToken("the token is not valid yet", err)
	case errors.Is(err, jwt.InvalidIssuerError()):
		return invalidToken("the token has the wrong issuer", err)
	case errors.Is(err, jwt.InvalidAudienceError()):
		return invalidToken("the token has the wrong audience", err)
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return invalidToken("the token lacks a required claim (exp, sub)", err)
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return invalidToken("the token was issued in the future", err)
	}
	for _, reason := range []error{errNoKid, errUnknownKid, errAlgNotAllowed, errKeyAlgMismatch, errKeysUnavailable} {
		if errors.Is(err, reason) {
			return invalidToken(reason.Error(), err)
		}
	}
	if errors.Is(err, jwt.ValidateError()) {
		return invalidToken("the token failed validation", err)
	}
	return invalidToken("the token is malformed or its signature is invalid", err)
}

func invalidToken(msg string, err error) *apperr.Error {
	e := apperr.New(apperr.KindUnauthenticated, CodeTokenInvalid, msg)
	e.Err = err
	return e
}

// keyProvider hands jws exactly one key: the JWKS key named by the header's
// kid, and only for an allowed algorithm that fits the key's type.
type keyProvider struct{ v *Verifier }

func (kp keyProvider) FetchKeys(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok || !slices.Contains(kp.v.algs, alg) {
		return errAlgNotAllowed
	}
	kid, ok := h.KeyID()
	if !ok || kid == "" {
		return errNoKid
	}
	key, err := kp.v.keyFor(ctx, kid)
	if err != nil {
		return err
	}
	if err := keyFitsAlg(key, alg); err != nil {
		return err
	}
	sink.Key(alg, key)
	return nil
}

// keyFor finds kid in the JWKS; an unknown kid triggers a reload (key
// rotation), at most once per MinRefreshInterval.
func (v *Verifier) keyFor(ctx context.Context, kid string) (jwk.Key, error) {
	set, err := v.keys.Current(ctx)
	if err == nil {
		if k, ok := set.LookupKeyID(kid); ok {
			return k, nil
		}
	}
	set, err = v.refresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, errUnknownKid
}

func (v *Verifier) refresh(ctx context.Context) (jwk.Set, error) {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	now := v.cfg.Now()
	// A caller that waited on the lock while another refreshed sees the
	// fresh set here instead of fetching again.
	if !v.lastRefresh.IsZero() && now.Sub(v.lastRefresh) < v.cfg.MinRefreshInterval {
		return v.keys.Current(ctx)
	}
	v.lastRefresh = now
	return v.keys.Refresh(ctx)
}

func keyFitsAlg(key jwk.Key, alg jwa.SignatureAlgorithm) error {
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return errKeyAlgMismatch
	}
	var wantType jwa.KeyType
	var wantCurve jwa.EllipticCurveAlgorithm
	switch alg {
	case jwa.ES256():
		wantType, wantCurve = jwa.EC(), jwa.P256()
	case jwa.EdDSA():
		wantType, wantCurve = jwa.OKP(), jwa.Ed25519()
	case jwa.RS256():
		wantType = jwa.RSA()
	default:
		return errAlgNotAllowed
	}
	if key.KeyType() != wantType {
		return errKeyAlgMismatch
	}
	if wantType == jwa.RSA() {
		return nil
	}
	var crv jwa.EllipticCurveAlgorithm
	if err := key.Get(jwk.ECDSACrvKey, &crv); err != nil || crv != wantCurve {
		return errKeyAlgMismatch
	}
	return nil
}

// principalFromToken applies the claims contract: sub, name, email,
// partner_id, roles (unknown roles ignored), amr and kind ("user" by default).
func principalFromToken(tok jwt.Token) (Principal, error) {
	sub, _ := tok.Subject()
	p := Principal{Kind: KindUser, Subject: sub}
	var errs []error
	for claim, dst := range map[string]*string{ClaimName: &p.Name, ClaimEmail: &p.Email, ClaimPartnerID: &p.PartnerID} {
		if s, err := stringClaim(tok, claim); err != nil {
			errs = append(errs, err)
		} else {
			*dst = s
		}
	}
	kind, err := stringClaim(tok, ClaimKind)
	switch {
	case err != nil:
		errs = append(errs, err)
	case kind == "" || kind == string(KindUser):
	case kind == string(KindService):
		p.Kind = KindService
	default:
		errs = append(errs, fmt.Errorf("claim kind %q is neither user nor service", kind))
	}
	roles, err := rolesClaim(tok)
	if err != nil {
		errs = append(errs, err)
	}
	p.Roles = roles
	amr, err := stringsClaim(tok, ClaimAMR)
	if err != nil {
		errs = append(errs, err)
	}
	p.AMR = amr
	// Every claim reaches audit rows and evidence as text: an identifier
	// holding a control character (NUL made every audited write a 500) does
	// not follow the contract; a display name or address keeps its text
	// without them.
	for _, c := range []struct{ name, v string }{{"sub", p.Subject}, {ClaimPartnerID, p.PartnerID}} {
		if !identifierClaim(c.v) {
			errs = append(errs, fmt.Errorf("claim %s holds a control character or is longer than %d bytes", c.name, MaxClaimLength))
		}
	}
	for _, m := range p.AMR {
		if !identifierClaim(m) {
			errs = append(errs, fmt.Errorf("claim %s holds a control character or a value longer than %d bytes", ClaimAMR, MaxClaimLength))
		}
	}
	p.Name, p.Email = normalize.Clip(p.Name, MaxClaimLength), normalize.Clip(p.Email, MaxClaimLength)
	if err := errors.Join(errs...); err != nil {
		return Principal{}, errors.New("the token's claims do not follow the contract")
	}
	return p, nil
}

// MaxClaimLength bounds an identifier claim (sub, partner_id, an amr
// value) and a display claim (name, email, cut at a character).
const MaxClaimLength = 256

func identifierClaim(s string) bool {
	return len(s) <= MaxClaimLength && !strings.ContainsFunc(s, unicode.IsControl)
}

func stringClaim(tok jwt.Token, name string) (string, error) {
	if !tok.Has(name) {
		return "", nil
	}
	var raw any
	if err := tok.Get(name, &raw); err != nil {
		return "", err
	}
	s, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("claim %s is not a string", name)
	}
	return s, nil
}

// stringsClaim reads an optional JSON array of strings (trimmed, without
// empty or repeated values).
func stringsClaim(tok jwt.Token, name string) ([]string, error) {
	if !tok.Has(name) {
		return nil, nil
	}
	var raw any
	if err := tok.Get(name, &raw); err != nil {
		return nil, err
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("claim %s is not an array", name)
	}
	var out []string
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("claim %s holds a non-string", name)
		}
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// rolesClaim reads "roles" as a JSON array of strings, keeping only the
// roles of the contract (an identity provider may send more).
func rolesClaim(tok jwt.Token) ([]Role, error) {
	roles := []Role{}
	if !tok.Has(ClaimRoles) {
		return roles, nil
	}
	var raw any
	if err := tok.Get(ClaimRoles, &raw); err != nil {
		return nil, err
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, errors.New("claim roles is not an array")
	}
	for _, r := range list {
		s, ok := r.(string)
		if !ok {
			return nil, errors.New("claim roles holds a non-string")
		}
		role := Role(strings.TrimSpace(s))
		if slices.Contains(KnownRoles, role) && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	return roles, nil
}
