package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ratelimit"
)

// AuthConfig says how callers are authenticated and limited. The bearer
// token contract is in pkg/auth/CLAIMS.md and the README.
type AuthConfig struct {
	JWKSFile       string  `env:"AUTH_JWKS_FILE"`
	JWKSURL        string  `env:"AUTH_JWKS_URL"`
	Issuer         string  `env:"AUTH_ISSUER" envDefault:"https://auth.partnerhub.local"`
	Audience       string  `env:"AUTH_AUDIENCE" envDefault:"partnerhub"`
	TrustedProxies string  `env:"AUTH_TRUSTED_PROXIES"`
	RateLimit      float64 `env:"RATE_LIMIT_RPS" envDefault:"20"`
	RateBurst      int     `env:"RATE_LIMIT_BURST" envDefault:"40"`
	// Principals maps bus authids to roles (JSON); PrincipalsFile is the
	// same as a file. With neither, the development directory is used only
	// when DevPrincipals is true.
	Principals     string `env:"PARTNERHUB_PRINCIPALS"`
	PrincipalsFile string `env:"PARTNERHUB_PRINCIPALS_FILE"`
	DevPrincipals  bool   `env:"PARTNERHUB_DEV_PRINCIPALS" envDefault:"true"`
	// RequireMFA refuses the privileged partner actions (accepting an
	// agreement, authorising or widening delegated administration) to
	// tokens without "mfa" in their amr claim (seed 003).
	RequireMFA bool `env:"AUTH_REQUIRE_MFA" envDefault:"true"`
}

// Validate lists every problem.
func (c AuthConfig) Validate() error {
	var errs []error
	if c.JWKSFile == "" && c.JWKSURL == "" {
		errs = append(errs, errors.New("AUTH_JWKS_FILE or AUTH_JWKS_URL is required (make run sets a dev key)"))
	}
	if _, err := auth.ParseTrustedProxies(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("AUTH_TRUSTED_PROXIES: %w", err))
	}
	if c.RateLimit <= 0 || c.RateBurst < 1 {
		errs = append(errs, errors.New("RATE_LIMIT_RPS must be > 0 and RATE_LIMIT_BURST >= 1"))
	}
	return errors.Join(errs...)
}

// Guard authenticates, authorises bus principals and rate-limits callers.
type Guard struct {
	Verifier  *auth.Verifier
	Limiter   *ratelimit.Limiter
	Directory *auth.Directory
	// MFA is the multi-factor requirement the privileged use cases apply.
	MFA auth.MFAPolicy
}

// NewGuard builds the guard of c.
func NewGuard(ctx context.Context, c AuthConfig) (*Guard, error) {
	proxies, err := auth.ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return nil, err
	}
	v, err := auth.NewVerifier(ctx, auth.Config{JWKSFile: c.JWKSFile, JWKSURL: c.JWKSURL, Issuer: c.Issuer,
		Audience: c.Audience, TrustedProxies: proxies})
	if err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	l, err := ratelimit.New(ratelimit.Config{Rate: c.RateLimit, Burst: c.RateBurst, TrustedProxies: proxies})
	if err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	var d *auth.Directory
	if c.Principals != "" || c.PrincipalsFile != "" {
		if d, err = auth.LoadDirectory(c.PrincipalsFile, c.Principals); err != nil {
			return nil, fmt.Errorf("bus principals: %w", err)
		}
	} else if c.DevPrincipals {
		d = auth.DevDirectory()
	} else {
		return nil, errors.New("PARTNERHUB_PRINCIPALS or PARTNERHUB_PRINCIPALS_FILE is required when PARTNERHUB_DEV_PRINCIPALS=false")
	}
	return &Guard{Verifier: v, Limiter: l, Directory: d, MFA: auth.MFAPolicy{Required: c.RequireMFA}}, nil
}

// Protect requires a valid bearer token, then applies the per-caller rate
// limit on writes.
func (g *Guard) Protect(h http.Handler) http.Handler {
	return g.Verifier.Middleware(g.Limiter.Middleware(h))
}
