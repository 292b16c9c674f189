package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// Defaults of the bearer-token Config and of the development setup.
const (
	DefaultClockSkew          = 30 * time.Second
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultJWKSMaxInterval    = 15 * time.Minute
	DefaultRealm              = "partnerhub"
	DevIssuer                 = "https://auth.partnerhub.local"
	DevAudience               = "partnerhub"
	maxClockSkew              = 5 * time.Minute
)

// DefaultAlgorithms are the signature algorithms accepted unless configured
// otherwise: asymmetric only, so a public JWKS can never verify an HMAC token.
var DefaultAlgorithms = []string{"ES256", "EdDSA", "RS256"}

// supportedAlgorithms are the only values Config.Algorithms may hold; "none"
// and the HS* family are deliberately absent.
var supportedAlgorithms = map[string]bool{"ES256": true, "EdDSA": true, "RS256": true}

// Config configures a Verifier. Exactly one of JWKSFile (development, tests)
// and JWKSURL (production, HTTPS only) names the keys.
type Config struct {
	JWKSFile string // path of a JWKS document, re-read on an unknown kid
	JWKSURL  string // https URL of the identity provider's JWKS, cached and refreshed
	Issuer   string // required value of "iss"
	Audience string // a value "aud" must contain

	ClockSkew  time.Duration // tolerance for exp/nbf/iat; zero means DefaultClockSkew
	Algorithms []string      // accepted "alg" values; empty means DefaultAlgorithms

	// MinRefreshInterval bounds how often an unknown kid may trigger a JWKS
	// reload, so that tokens with random kids cannot hammer the provider.
	MinRefreshInterval time.Duration
	// JWKSMaxInterval is the longest a fetched JWKS is kept before the
	// background refresh (URL only; Cache-Control may shorten it).
	JWKSMaxInterval time.Duration

	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// recording the caller's source IP. Empty: RemoteAddr is the source.
	TrustedProxies []netip.Prefix
	Realm          string       // realm of the WWW-Authenticate challenge
	HTTPClient     *http.Client // fetches JWKSURL; nil means a client with a 10s timeout
	Now            func() time.Time
}

// DevConfig is the configuration that accepts tokens minted by the
// development Signer whose keys live in dir (see EnsureDevKeys).
func DevConfig(dir string) Config {
	return Config{JWKSFile: DevJWKSPath(dir), Issuer: DevIssuer, Audience: DevAudience}
}

// WithDefaults returns c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = append([]string(nil), DefaultAlgorithms...)
	}
	if c.MinRefreshInterval == 0 {
		c.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if c.JWKSMaxInterval == 0 {
		c.JWKSMaxInterval = DefaultJWKSMaxInterval
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.JWKSFile == "" && c.JWKSURL == "":
		errs = append(errs, errors.New("auth: one of JWKSFile and JWKSURL is required"))
	case c.JWKSFile != "" && c.JWKSURL != "":
		errs = append(errs, errors.New("auth: JWKSFile and JWKSURL are exclusive"))
	case c.JWKSURL != "":
		u, err := url.Parse(c.JWKSURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("auth: JWKSURL %q must be an absolute https URL", c.JWKSURL))
		}
	}
	if c.Issuer == "" {
		errs = append(errs, errors.New("auth: Issuer is required"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("auth: Audience is required"))
	}
	if c.ClockSkew < 0 || c.ClockSkew > maxClockSkew {
		errs = append(errs, fmt.Errorf("auth: ClockSkew %s must be between 0 and %s", c.ClockSkew, maxClockSkew))
	}
	for _, a := range c.Algorithms {
		if !supportedAlgorithms[a] {
			errs = append(errs, fmt.Errorf("auth: algorithm %q is not allowed (use ES256, EdDSA or RS256)", a))
		}
	}
	if c.MinRefreshInterval < 0 {
		errs = append(errs, errors.New("auth: MinRefreshInterval must not be negative"))
	}
	if c.JWKSMaxInterval < 0 {
		errs = append(errs, errors.New("auth: JWKSMaxInterval must not be negative"))
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("auth: trusted proxy prefix %v is invalid", p))
		}
	}
	return errors.Join(errs...)
}

// ParseTrustedProxies parses a comma-separated list of CIDRs or addresses
// (e.g. "10.0.0.0/8, 127.0.0.1"), as read from an environment variable.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, f := range splitList(s) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted proxy %q: not a CIDR or IP address", f))
			continue
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, errors.Join(errs...)
}
